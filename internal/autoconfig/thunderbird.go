package autoconfig

import (
	"encoding/xml"
)

// ClientConfig is Thunderbird's clientConfig document, version 1.1: the
// elements and attributes Thunderbird reads (its readFromXML).
type ClientConfig struct {
	XMLName  xml.Name      `xml:"clientConfig"`
	Version  string        `xml:"version,attr"`
	Provider EmailProvider `xml:"emailProvider"`
}

// EmailProvider is <emailProvider id="...">.
type EmailProvider struct {
	ID               string         `xml:"id,attr"`
	Domains          []string       `xml:"domain"`
	DisplayName      string         `xml:"displayName"`
	DisplayShortName string         `xml:"displayShortName"`
	Incoming         []ServerConfig `xml:"incomingServer"`
	Outgoing         []ServerConfig `xml:"outgoingServer"`
}

// ServerConfig is <incomingServer> or <outgoingServer>.
type ServerConfig struct {
	Type           string   `xml:"type,attr"` // "imap", "smtp"
	Hostname       string   `xml:"hostname"`
	Port           int      `xml:"port"`
	SocketType     string   `xml:"socketType"`     // SSL, STARTTLS, plain
	Username       string   `xml:"username"`       // %EMAILADDRESS%
	Authentication []string `xml:"authentication"` // password-cleartext
}

// Thunderbird builds the clientConfig for the mail domains: user name
// %EMAILADDRESS% (Thunderbird fills in what the user typed), cleartext
// password (the transport is TLS).
func Thunderbird(s Settings) ([]byte, error) {
	server := func(typ string, e Endpoint) ServerConfig {
		return ServerConfig{Type: typ, Hostname: s.Hostname, Port: e.Port, SocketType: e.Socket,
			Username: "%EMAILADDRESS%", Authentication: []string{"password-cleartext"}}
	}
	id := s.Hostname
	if len(s.Domains) > 0 {
		id = s.Domains[0]
	}
	c := ClientConfig{Version: "1.1", Provider: EmailProvider{ID: id, Domains: s.Domains,
		DisplayName: id + " mail (" + s.Hostname + ")", DisplayShortName: id}}
	for _, e := range s.IMAP {
		c.Provider.Incoming = append(c.Provider.Incoming, server("imap", e))
	}
	for _, e := range s.Submission {
		c.Provider.Outgoing = append(c.Provider.Outgoing, server("smtp", e))
	}
	out, err := xml.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}
