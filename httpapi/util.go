package httpapi

import (
	"net/mail"
	"strconv"
	"time"
)

func itoa(i int) string { return strconv.Itoa(i) }

func parseRFC5322Date(s string) (time.Time, error) { return mail.ParseDate(s) }
