package autoconfig

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// Autodiscover schemas ([MS-OXDSCLI] 2.2.3, 2.2.4).
const (
	nsRequest         = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	nsResponse        = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	NSOutlookResponse = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	maxAddressLength  = 254 // RFC 5321 4.5.3.1.3 path, less the brackets
)

// ErrBadRequest is a request that is not an Autodiscover request.
var ErrBadRequest = errors.New("autoconfig: not an Autodiscover request")

// ParseAutodiscoverRequest returns the EMailAddress of a POX request
// body. It is pure: no limits on size here (Handler bounds the body).
func ParseAutodiscoverRequest(body []byte) (string, error) {
	var req struct {
		XMLName xml.Name `xml:"Autodiscover"`
		Request struct {
			EMailAddress             string `xml:"EMailAddress"`
			AcceptableResponseSchema string `xml:"AcceptableResponseSchema"`
		} `xml:"Request"`
	}
	if err := xml.Unmarshal(body, &req); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if req.XMLName.Space != "" && req.XMLName.Space != nsRequest {
		return "", fmt.Errorf("%w: namespace %q", ErrBadRequest, req.XMLName.Space)
	}
	if s := req.Request.AcceptableResponseSchema; s != "" && strings.TrimSpace(s) != NSOutlookResponse {
		return "", fmt.Errorf("%w: response schema %q is not offered (only %s)", ErrBadRequest, s, NSOutlookResponse)
	}
	email := strings.TrimSpace(req.Request.EMailAddress)
	if email == "" || len(email) > maxAddressLength || domainOf(email) == "" {
		return "", fmt.Errorf("%w: EMailAddress %q", ErrBadRequest, email)
	}
	return email, nil
}

// AutodiscoverResponse is the POX answer, in the outlook 2006a schema.
type AutodiscoverResponse struct {
	XMLName  xml.Name        `xml:"Autodiscover"`
	XMLNS    string          `xml:"xmlns,attr"`
	Response OutlookResponse `xml:"Response"`
}

// OutlookResponse is <Response xmlns="...2006a">.
type OutlookResponse struct {
	XMLNS   string          `xml:"xmlns,attr"`
	Account *OutlookAccount `xml:"Account,omitempty"`
}

// OutlookAccount lists the protocols.
type OutlookAccount struct {
	AccountType string     `xml:"AccountType"` // email
	Action      string     `xml:"Action"`      // settings
	Protocols   []Protocol `xml:"Protocol"`
}

// Protocol is one server ([MS-OXDSCLI] 2.2.4.1.1.2.2.1.5).
type Protocol struct {
	Type           string `xml:"Type"` // IMAP, SMTP
	Server         string `xml:"Server"`
	Port           int    `xml:"Port"`
	LoginName      string `xml:"LoginName"`
	DomainRequired string `xml:"DomainRequired"` // off
	SPA            string `xml:"SPA"`            // off: no NTLM
	SSL            string `xml:"SSL"`            // on, off
	Encryption     string `xml:"Encryption"`     // SSL (implicit), TLS (STARTTLS), None
	AuthRequired   string `xml:"AuthRequired"`   // on
}

// Autodiscover builds the answer for email, which the caller has checked
// is in a served domain.
func Autodiscover(s Settings, email string) ([]byte, error) {
	proto := func(typ string, e Endpoint) Protocol {
		p := Protocol{Type: typ, Server: s.Hostname, Port: e.Port, LoginName: email,
			DomainRequired: "off", SPA: "off", SSL: "on", AuthRequired: "on"}
		switch e.Socket {
		case SocketSSL:
			p.Encryption = "SSL"
		case SocketSTARTTLS:
			p.Encryption = "TLS"
		default:
			p.SSL, p.Encryption = "off", "None"
		}
		return p
	}
	acct := &OutlookAccount{AccountType: "email", Action: "settings"}
	// Outlook takes the first Protocol of each Type: the preferred one.
	if len(s.IMAP) > 0 {
		acct.Protocols = append(acct.Protocols, proto("IMAP", s.IMAP[0]))
	}
	if len(s.Submission) > 0 {
		acct.Protocols = append(acct.Protocols, proto("SMTP", s.Submission[0]))
	}
	r := AutodiscoverResponse{XMLNS: nsResponse, Response: OutlookResponse{XMLNS: NSOutlookResponse, Account: acct}}
	out, err := xml.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}
