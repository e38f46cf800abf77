package httpapi

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// msgRef names one message for ever: the account's ID (never reused),
// the folder, its UIDVALIDITY and the UID (UIDs are never reused within
// a UIDVALIDITY, RFC 9051 2.3.1.1). Its text form, the API's message id,
// is opaque to clients.
type msgRef struct {
	Account     int64
	Folder      string
	UIDValidity uint32
	UID         uint32
}

// String encodes the reference: base64url (RFC 4648 5, no padding) of
// "1:<account>:<uidvalidity>:<uid>:<folder>", "1" being the version.
func (m msgRef) String() string {
	s := "1:" + strconv.FormatInt(m.Account, 10) + ":" + strconv.FormatUint(uint64(m.UIDValidity), 10) +
		":" + strconv.FormatUint(uint64(m.UID), 10) + ":" + m.Folder
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// maxIDLen bounds an id before it is decoded.
const maxIDLen = 2048

// parseRef decodes a message id; false for anything String did not make.
func parseRef(id string) (msgRef, bool) {
	if len(id) > maxIDLen {
		return msgRef{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return msgRef{}, false
	}
	parts := strings.SplitN(string(b), ":", 5)
	if len(parts) != 5 || parts[0] != "1" || parts[4] == "" {
		return msgRef{}, false
	}
	acct, err1 := strconv.ParseInt(parts[1], 10, 64)
	uv, err2 := strconv.ParseUint(parts[2], 10, 32)
	uid, err3 := strconv.ParseUint(parts[3], 10, 32)
	if err1 != nil || err2 != nil || err3 != nil || acct <= 0 || uid == 0 {
		return msgRef{}, false
	}
	m := msgRef{Account: acct, Folder: parts[4], UIDValidity: uint32(uv), UID: uint32(uid)}
	if m.String() != id { // one id per message: no leading zeros, no "+1"
		return msgRef{}, false
	}
	return m, true
}
