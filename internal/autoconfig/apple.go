package autoconfig

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// plistValue is a property list value: string, int, bool, []plistEntry
// (a dict, in order) or []any (an array).
type plistEntry struct {
	key   string
	value any
}

// AppleProfile builds a configuration profile (an XML property list of
// type Configuration) holding one com.apple.mail.managed payload for
// email, which the caller has checked is in a served domain.
func AppleProfile(s Settings, email string) ([]byte, error) {
	if len(s.IMAP) == 0 {
		return nil, fmt.Errorf("autoconfig: no IMAP listener to put in a profile")
	}
	in := s.IMAP[0]
	reverse := reverseDNS(s.Hostname)
	mail := []plistEntry{
		{"EmailAccountDescription", email},
		{"EmailAccountName", email[:strings.LastIndexByte(email, '@')]},
		{"EmailAccountType", "EmailTypeIMAP"},
		{"EmailAddress", email},
		{"IncomingMailServerAuthentication", "EmailAuthPassword"},
		{"IncomingMailServerHostName", s.Hostname},
		{"IncomingMailServerPortNumber", in.Port},
		// Apple's "UseSSL" is TLS of either kind: implicit or STARTTLS.
		{"IncomingMailServerUseSSL", in.Socket != SocketPlain},
		{"IncomingMailServerUsername", email},
	}
	if len(s.Submission) > 0 {
		out := s.Submission[0]
		mail = append(mail,
			plistEntry{"OutgoingMailServerAuthentication", "EmailAuthPassword"},
			plistEntry{"OutgoingMailServerHostName", s.Hostname},
			plistEntry{"OutgoingMailServerPortNumber", out.Port},
			plistEntry{"OutgoingMailServerUseSSL", out.Socket != SocketPlain},
			plistEntry{"OutgoingMailServerUsername", email},
			plistEntry{"OutgoingPasswordSameAsIncomingPassword", true})
	}
	mail = append(mail,
		plistEntry{"PayloadDescription", "Mail account " + email},
		plistEntry{"PayloadDisplayName", email},
		plistEntry{"PayloadIdentifier", reverse + ".mail." + uuidFor("payload", s.Hostname, email)},
		plistEntry{"PayloadType", "com.apple.mail.managed"},
		plistEntry{"PayloadUUID", uuidFor("payload", s.Hostname, email)},
		plistEntry{"PayloadVersion", 1})
	profile := []plistEntry{
		{"PayloadContent", []any{mail}},
		{"PayloadDescription", "Mail settings for " + email + " on " + s.Hostname},
		{"PayloadDisplayName", "Mail: " + email},
		{"PayloadIdentifier", reverse + ".profile." + uuidFor("profile", s.Hostname, email)},
		{"PayloadRemovalDisallowed", false},
		{"PayloadType", "Configuration"},
		{"PayloadUUID", uuidFor("profile", s.Hostname, email)},
		{"PayloadVersion", 1},
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString(`<plist version="1.0">` + "\n")
	if err := writePlist(&b, profile, 0); err != nil {
		return nil, err
	}
	b.WriteString("</plist>\n")
	return b.Bytes(), nil
}

func writePlist(b *bytes.Buffer, v any, depth int) error {
	indent := strings.Repeat("\t", depth)
	switch v := v.(type) {
	case string:
		b.WriteString(indent + "<string>")
		if err := xml.EscapeText(b, []byte(v)); err != nil {
			return err
		}
		b.WriteString("</string>\n")
	case int:
		b.WriteString(indent + "<integer>" + strconv.Itoa(v) + "</integer>\n")
	case bool:
		b.WriteString(indent + "<" + strconv.FormatBool(v) + "/>\n")
	case []plistEntry:
		b.WriteString(indent + "<dict>\n")
		for _, e := range v {
			b.WriteString(indent + "\t<key>" + e.key + "</key>\n")
			if err := writePlist(b, e.value, depth+1); err != nil {
				return err
			}
		}
		b.WriteString(indent + "</dict>\n")
	case []any:
		b.WriteString(indent + "<array>\n")
		for _, e := range v {
			if err := writePlist(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteString(indent + "</array>\n")
	default:
		return fmt.Errorf("autoconfig: no plist form for %T", v)
	}
	return nil
}

// uuidFor is a name-based UUID (the layout of RFC 9562 5.8, from
// SHA-256): the same address and host give the same profile, so a
// second download replaces the first on the device.
func uuidFor(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h[6] = h[6]&0x0f | 0x80 // version 8
	h[8] = h[8]&0x3f | 0x80 // variant RFC 9562
	return fmt.Sprintf("%X-%X-%X-%X-%X", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// reverseDNS turns mail.example.org into org.example.mail, the form of
// PayloadIdentifier.
func reverseDNS(host string) string {
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(host, ".")), ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".")
}
