package config

import (
	"path/filepath"
	"time"
)

// Config is the whole configuration of one immp process. The doc tag of
// each field is printed above its key by Example, and is the reference in
// the README.
type Config struct {
	Hostname      string   `toml:"hostname" doc:"Name this server announces in SMTP greetings and Received headers.\nEmpty: the machine's host name."`
	DataDir       string   `toml:"data_dir" doc:"Directory holding immp.db (SQLite) and mail/<domain>/<local>/Maildir.\nRequired. A relative path is taken from the working directory."`
	Domains       []string `toml:"domains" doc:"Mail domains this server is the final destination for. At least one."`
	ShutdownGrace Duration `toml:"shutdown_grace" doc:"On SIGTERM/SIGINT, how long in-flight SMTP transactions and IMAP/IMMP\ncommands may take to finish before connections are closed."`

	SMTP       SMTP       `toml:"smtp" doc:"Receiver-SMTP (RFC 5321): mail from other servers, for local domains only."`
	Submission Submission `toml:"submission" doc:"Message submission (RFC 6409): authenticated users sending mail.\nShares [smtp]'s message limits and timeouts."`
	IMAP       IMAP       `toml:"imap" doc:"IMAP4rev2/IMAP4rev1 (RFC 9051, RFC 3501) over the same mailboxes."`
	IMMP       IMMP       `toml:"immp" doc:"IMMP (draft-sabarish-immp-00): subinbox management and the spam guard."`
	HTTP       HTTP       `toml:"http" doc:"Operations endpoint: /healthz, /readyz and Prometheus /metrics.\nKeep it on loopback or a private network."`
	TLS        TLS        `toml:"tls" doc:"Certificate for STARTTLS and the implicit-TLS listeners (tls_listen)."`
	Accounts   Accounts   `toml:"accounts" doc:"Accounts are managed with \"immp user add|del|passwd|list|quota\"."`
	Delivery   Delivery   `toml:"delivery" doc:"How recipient addresses map to subinboxes."`
	Auth       Auth       `toml:"auth" doc:"Authentication policy shared by submission, IMAP and IMMP."`
	Log        Log        `toml:"log" doc:"Logging (log/slog) to standard error."`
	Outbound   Outbound   `toml:"outbound" doc:"Outbound mail: the queue, delivery to other domains' MX or a smarthost, and\nthe DNS lookups it shares with the inbound checks."`
	DKIM       DKIM       `toml:"dkim" doc:"DKIM signing (RFC 6376) of mail from the local domains. Keys are made with\n\"immp dkim keygen DOMAIN\" under data_dir/dkim; a domain without a key is not signed."`
	Testbed    Testbed    `toml:"testbed" doc:"Integration test bed: HTTP API, capture of all mail, SMTP fault injection."`
}

// SMTP is the [smtp] section.
type SMTP struct {
	Listen          string   `toml:"listen" doc:"Address to accept mail on, host:port. Empty: off."`
	MaxMessageBytes Size     `toml:"max_message_bytes" doc:"Largest message accepted (SIZE extension), e.g. \"25MiB\"."`
	MaxRecipients   int      `toml:"max_recipients" doc:"Most recipients in one transaction (RFC 5321 says at least 100)."`
	ReadTimeout     Duration `toml:"read_timeout" doc:"How long a client may stay silent before it is disconnected."`
	DataTimeout     Duration `toml:"data_timeout" doc:"How long the data of one message (DATA, or all its BDAT chunks) may take\nin all; then 451 4.4.2 and the connection is closed. The default 10m\ntakes a 25MiB message at 350 kbit/s; raise it with max_message_bytes."`
	MaxConnsPerIP   int      `toml:"max_conns_per_ip" doc:"Most simultaneous connections from one IP address; -1: unlimited.\nOne more is answered \"421 4.7.0\" and closed."`
	MaxConns        int      `toml:"max_conns" doc:"Most simultaneous connections on the listener; -1: unlimited.\nOne more is answered \"421 4.7.0 ... try again later\" and closed."`
	AuthChecks      bool     `toml:"auth_checks" doc:"Check SPF (RFC 7208), DKIM (RFC 6376) and DMARC (RFC 7489) on mail received\nhere and record them in one Authentication-Results field (RFC 8601); DMARC\np=reject failures are refused (550 5.7.1), p=quarantine ones filed into Junk.\nNever for trusted_networks. Off in the built-in test-bed profile."`
	AuthservID      string   `toml:"authserv_id" doc:"Name in the Authentication-Results field (RFC 8601 2.5). Empty: hostname.\nIncoming Authentication-Results fields with this name are removed."`
	TrustedNetworks []string `toml:"trusted_networks" doc:"Networks (CIDR) whose clients are trusted like authenticated ones: they may\nsend mail to other domains without logging in (needs [outbound] enabled),\ne.g. a web application's host, and their mail gets no SPF/DKIM/DMARC checks.\nEmpty: only authenticated submission may relay."`
	Postmaster      string   `toml:"postmaster" doc:"Account that receives mail to postmaster@ each domain (RFC 5321 4.5.1) where\nno account of that name exists; it must be in one of the domains. Empty:\npostmaster@<first domain>. If that account does not exist, the oldest\naccount receives it (\"immp serve\" logs where postmaster mail goes)."`
}

// Submission is the [submission] section.
type Submission struct {
	Listen        string `toml:"listen" doc:"Address for authenticated submission (STARTTLS when [tls] is set). Empty: off."`
	MaxConnsPerIP int    `toml:"max_conns_per_ip" doc:"Most simultaneous connections from one IP address; -1: unlimited."`
	MaxConns      int    `toml:"max_conns" doc:"Most simultaneous connections on the listener; -1: unlimited."`
}

// IMAP is the [imap] section.
type IMAP struct {
	Listen        string `toml:"listen" doc:"Cleartext IMAP (STARTTLS when [tls] is set), host:port. Empty: off."`
	TLSListen     string `toml:"tls_listen" doc:"Implicit-TLS IMAP (IMAPS), host:port; needs [tls]. Empty: off."`
	MaxConnsPerIP int    `toml:"max_conns_per_ip" doc:"Most simultaneous connections from one IP address, over listen and\ntls_listen together; -1: unlimited. One more gets \"* BYE [LIMIT]\"."`
	MaxConns      int    `toml:"max_conns" doc:"Most simultaneous connections on each listener; -1: unlimited.\nOne more gets \"* BYE [UNAVAILABLE] ... try again later\"."`
}

// IMMP is the [immp] section.
type IMMP struct {
	Listen          string   `toml:"listen" doc:"Cleartext IMMP (STARTTLS when [tls] is set), host:port. Port 323 is the draft's. Empty: off."`
	TLSListen       string   `toml:"tls_listen" doc:"Implicit-TLS IMMP, host:port; needs [tls]. The draft names no port for it. Empty: off."`
	TrustedNetworks []string `toml:"trusted_networks" doc:"Networks (CIDR) whose clients may ask VERIFYSUBINBOX and\nVERIFYINSPAMGUARDAGENT without logging in (typically your MX relays)."`
	IdleTimeout     Duration `toml:"idle_timeout" doc:"Autologout after login, after this long without a command; at least 30m\n(draft 5.4)."`
	PreauthTimeout  Duration `toml:"preauth_timeout" doc:"Autologout before login (and in the anonymous state), after this long\nwithout a command (RFC 9051 5.4 sets the 30-minute minimum only after\nauthentication)."`
	MaxConnsPerIP   int      `toml:"max_conns_per_ip" doc:"Most simultaneous connections from one IP address, over listen and\ntls_listen together; -1: unlimited. One more gets \"* BYE [LIMIT]\"."`
	MaxConns        int      `toml:"max_conns" doc:"Most simultaneous connections on each listener; -1: unlimited.\nOne more gets \"* BYE [UNAVAILABLE] ... try again later\"."`
}

// HTTP is the [http] section.
type HTTP struct {
	Listen        string `toml:"listen" doc:"Address of the operations endpoint, host:port. Empty: off\n(then \"immp healthcheck\" has nothing to ask)."`
	MaxConnsPerIP int    `toml:"max_conns_per_ip" doc:"Most simultaneous connections from one IP address; -1: unlimited."`
	MaxConns      int    `toml:"max_conns" doc:"Most simultaneous connections on the listener; -1: unlimited.\nOne more is answered \"503 Service Unavailable\" and closed."`
	APITokenFile  string `toml:"api_token_file" doc:"File whose first line is the bearer token of the HTTP API (/api/v1/,\ndocs/api.md). Outside the test-bed profile ([testbed] enabled) the API\nis off unless this is set."`

	// HTTPS, client autoconfiguration and the admin page (server/tlsops.go).
	TLSListen         string `toml:"tls_listen" doc:"The same endpoint over HTTPS (implicit TLS with the [tls] certificate),\nhost:port, e.g. \":443\" for autoconfig.DOMAIN and ACME's TLS-ALPN-01.\nEmpty: off."`
	Autoconfig        bool   `toml:"autoconfig" doc:"Serve mail client autoconfiguration built from the listeners above:\nThunderbird's /.well-known/autoconfig/mail/config-v1.1.xml and\n/mail/config-v1.1.xml, Microsoft's /autodiscover/autodiscover.xml and an\nApple profile at /apple/profile.mobileconfig?email=ADDRESS."`
	MTASTSMode        string `toml:"mta_sts_mode" doc:"MTA-STS (RFC 8461) policy served at /.well-known/mta-sts.txt for the host\nmta-sts.DOMAIN of each domain, naming hostname as the MX: \"testing\"\n(senders report but still deliver without TLS), \"enforce\" (senders must\nuse TLS with a valid certificate: only with trusted certificates), \"none\"\n(withdraw a policy) or \"\" (not served). Senders fetch it over HTTPS:\nset tls_listen, or proxy it. \"immp dns records\" prints the matching id."`
	AdminPasswordFile string `toml:"admin_password_file" doc:"File whose first line is the password of the admin page at /admin/\n(add and remove accounts, reset passwords, storage use), at least 12\ncharacters. Empty: no admin page. On listen it is plain HTTP: keep that on\nloopback or a private network, or use tls_listen (HTTPS) or a proxy."`
}

// TLS is the [tls] section.
type TLS struct {
	Cert       string `toml:"cert" doc:"PEM certificate chain file. A renewed file is picked up within 30s,\nor at once on SIGHUP."`
	Key        string `toml:"key" doc:"PEM private key file."`
	SelfSigned bool   `toml:"self_signed" doc:"Without cert and key: generate a self-signed certificate for hostname into\ndata_dir/tls on first start and use it. For test beds and first steps;\nclients will warn about it."`

	// ACME (server/acme.go).
	ACME           bool     `toml:"acme" doc:"Obtain and renew the certificate for hostname (and acme_names) from an\nACME CA (RFC 8555), stored under data_dir/acme. Needs hostname to be a\npublic name and cannot be combined with cert/key or self_signed. Until\nthe first certificate arrives, a self-signed one is served."`
	ACMEEmail      string   `toml:"acme_email" doc:"Contact address given to the CA (expiry notices). Empty: none."`
	ACMEDirectory  string   `toml:"acme_directory" doc:"Directory URL of the CA. Let's Encrypt staging is\nhttps://acme-staging-v02.api.letsencrypt.org/directory; any RFC 8555\nserver works."`
	ACMECARoot     string   `toml:"acme_ca_root" doc:"PEM file of a private CA to trust for the directory's HTTPS (a CA of\nyour own, or pebble's in tests). Empty: the system's roots."`
	ACMENames      []string `toml:"acme_names" doc:"More names for the certificate, e.g. autoconfig.example.org and\nmta-sts.example.org once their DNS points at this server."`
	ACMEChallenge  string   `toml:"acme_challenge" doc:"\"tls-alpn-01\" (the CA connects to port 443) or \"http-01\" (port 80)."`
	ACMEListen     string   `toml:"acme_listen" doc:"Where the CA's connection arrives, host:port, when it is forwarded to\nanother port. If an immp listener is bound there (http.listen for\nhttp-01; imap.tls_listen or immp.tls_listen for tls-alpn-01) it answers\nthe challenge; otherwise immp binds it only while a challenge is open.\nEmpty: \":443\" for tls-alpn-01, \":80\" for http-01."`
	ACMERenewCheck Duration `toml:"acme_renew_check" doc:"How often certificates are checked for renewal. One is renewed in the\nlast third of its lifetime (or when the CA says so, RFC 9773)."`
}

// Accounts is the [accounts] section.
type Accounts struct {
	AutoCreate bool `toml:"auto_create" doc:"Test-bed mode: create an unknown account on its first login (with that\npassword) or on the first mail to it. Never turn this on for a server\nreachable from the Internet."`
	// AuthCacheTTL: how long a verified password is remembered in memory.
	AuthCacheTTL Duration `toml:"auth_cache_ttl" doc:"How long a verified password is remembered (as a keyed hash, never in\nclear) so that the next logins skip the costly argon2id check, like\nDovecot's auth_cache_ttl. A password change or deletion takes effect at\nthe next login all the same. \"0s\": no cache."`
	Quota        Size     `toml:"quota" doc:"Storage quota of every account, e.g. \"1GiB\": the sum of the sizes of its\nmessages in all its folders. 0: unlimited. \"immp user quota\" sets an\naccount's own. Over it, SMTP answers 452 4.2.2 at RCPT or 552 5.2.2 after\nDATA, IMAP APPEND and COPY NO [OVERQUOTA]; EXPUNGE, DELETE and MOVE work."`
}

// Delivery is the [delivery] section.
type Delivery struct {
	PlusSubinbox bool `toml:"plus_subinbox" doc:"Also map local+sub@domain to the subinbox sub, as sub/local@domain is,\nfor web forms that refuse \"/\" in addresses."`
}

// Auth is the [auth] section.
type Auth struct {
	AllowInsecure bool `toml:"allow_insecure" doc:"Allow passwords over cleartext connections from non-loopback clients.\nOff: they must use TLS (STARTTLS or a tls_listen port) first."`
}

// DKIM is the [dkim] section.
type DKIM struct {
	Selector string   `toml:"selector" doc:"Selector of the key that signs (RFC 6376 3.1): the record is\nSELECTOR._domainkey.DOMAIN. To rotate, make a key with a new selector,\npublish it, then set it here."`
	Headers  []string `toml:"headers" doc:"Header fields signed (RFC 6376 5.4). From is required; a name listed twice\nis oversigned (RFC 6376 8.15): a second such field added later breaks\nthe signature."`
}

// Log is the [log] section.
type Log struct {
	Format string `toml:"format" doc:"\"text\" or \"json\"."`
	Level  string `toml:"level" doc:"\"debug\", \"info\", \"warn\" or \"error\"."`
}

// Built-in defaults shared by both modes.
const (
	DefaultMaxMessageBytes = Size(25 << 20)
	DefaultMaxRecipients   = 100
	DefaultReadTimeout     = Duration(5 * time.Minute)
	DefaultDataTimeout     = Duration(10 * time.Minute)
	DefaultMaxConnsPerIP   = 50
	DefaultPreauthTimeout  = Duration(time.Minute)
	DefaultIdleTimeout     = Duration(30 * time.Minute)
	MinIdleTimeout         = Duration(30 * time.Minute) // draft 5.4
	DefaultShutdownGrace   = Duration(30 * time.Second)
	DefaultAuthCacheTTL    = Duration(time.Hour) // Dovecot's auth_cache_ttl

	DefaultACMEDirectory  = "https://acme-v02.api.letsencrypt.org/directory" // Let's Encrypt production
	DefaultACMERenewCheck = Duration(10 * time.Minute)
)

// DefaultDKIMSelector is [dkim] selector's default.
const DefaultDKIMSelector = "immp"

// DefaultDKIMHeaders is [dkim] headers' default: RFC 6376 5.4.1's list,
// From oversigned.
func DefaultDKIMHeaders() []string {
	return []string{"From", "From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To",
		"In-Reply-To", "References", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"}
}

// Connection caps per listener (max_conns).
const (
	DefaultSMTPMaxConns = 1000 // also submission
	DefaultIMAPMaxConns = 2000 // clients keep several connections each (IDLE)
	DefaultIMMPMaxConns = 1000
	DefaultHTTPMaxConns = 256
)

// Ports of the built-in test-bed profile (Default).
const (
	DefaultSMTPListen       = "127.0.0.1:3025"
	DefaultSubmissionListen = "127.0.0.1:3587"
	DefaultIMAPListen       = "127.0.0.1:3143"
	DefaultIMAPSListen      = "127.0.0.1:3993"
	DefaultIMMPListen       = "127.0.0.1:3323"
	DefaultIMMPSListen      = "127.0.0.1:3324"
	DefaultHTTPListen       = "127.0.0.1:3880"
)

// base is what a file starts from: every limit at its default, every
// listener off, nothing created implicitly.
func base() Config {
	return Config{
		ShutdownGrace: DefaultShutdownGrace,
		SMTP: SMTP{
			MaxMessageBytes: DefaultMaxMessageBytes,
			MaxRecipients:   DefaultMaxRecipients,
			ReadTimeout:     DefaultReadTimeout,
			DataTimeout:     DefaultDataTimeout,
			MaxConnsPerIP:   DefaultMaxConnsPerIP,
			MaxConns:        DefaultSMTPMaxConns,
			AuthChecks:      true,
		},
		DKIM:       DKIM{Selector: DefaultDKIMSelector, Headers: DefaultDKIMHeaders()},
		Submission: Submission{MaxConnsPerIP: DefaultMaxConnsPerIP, MaxConns: DefaultSMTPMaxConns},
		IMAP:       IMAP{MaxConnsPerIP: DefaultMaxConnsPerIP, MaxConns: DefaultIMAPMaxConns},
		IMMP: IMMP{
			TrustedNetworks: []string{"127.0.0.0/8", "::1/128"},
			IdleTimeout:     DefaultIdleTimeout,
			PreauthTimeout:  DefaultPreauthTimeout,
			MaxConnsPerIP:   DefaultMaxConnsPerIP,
			MaxConns:        DefaultIMMPMaxConns,
		},
		Accounts: Accounts{AuthCacheTTL: DefaultAuthCacheTTL},
		HTTP:     HTTP{MaxConnsPerIP: DefaultMaxConnsPerIP, MaxConns: DefaultHTTPMaxConns, Autoconfig: true, MTASTSMode: "testing"},
		TLS:      TLS{ACMEDirectory: DefaultACMEDirectory, ACMEChallenge: "tls-alpn-01", ACMERenewCheck: DefaultACMERenewCheck},
		Delivery: Delivery{PlusSubinbox: true},
		Log:      Log{Format: "text", Level: "info"},
		Outbound: outboundDefaults(),
	}
}

// Default is the built-in test-bed profile used when serve runs without a
// config file: loopback only, GreenMail-style ports, ./immp-data, domain
// localhost, accounts auto-created, a self-signed certificate.
func Default() Config {
	c := base()
	c.Hostname = "localhost"
	c.DataDir = "immp-data"
	c.Domains = []string{"localhost"}
	c.SMTP.Listen = DefaultSMTPListen
	c.Submission.Listen = DefaultSubmissionListen
	c.IMAP.Listen = DefaultIMAPListen
	c.IMAP.TLSListen = DefaultIMAPSListen
	c.IMMP.Listen = DefaultIMMPListen
	c.IMMP.TLSListen = DefaultIMMPSListen
	c.HTTP.Listen = DefaultHTTPListen
	c.TLS.SelfSigned = true
	c.Accounts.AutoCreate = true
	// A test bed receives from fake domains (remote.test): no DNS checks.
	c.SMTP.AuthChecks = false
	c.Testbed.Enabled, c.Testbed.Capture = true, true
	return c
}

// SelfSignedPaths are where a self-signed certificate and key live under
// the data directory.
func (c *Config) SelfSignedPaths() (cert, key string) {
	dir := filepath.Join(c.DataDir, "tls")
	return filepath.Join(dir, "selfsigned.crt"), filepath.Join(dir, "selfsigned.key")
}

// TLSEnabled reports whether a certificate is configured (files or
// self-signed).
func (c *Config) TLSEnabled() bool {
	return c.TLS.SelfSigned || c.TLS.ACME || (c.TLS.Cert != "" && c.TLS.Key != "")
}

// Listener is one configured listener.
type Listener struct {
	Key  string // the config key, e.g. "imap.tls_listen"
	Addr string // host:port
}

// Listeners returns the listeners that are on, in a fixed order.
func (c *Config) Listeners() []Listener {
	all := []Listener{
		{"smtp.listen", c.SMTP.Listen},
		{"submission.listen", c.Submission.Listen},
		{"imap.listen", c.IMAP.Listen},
		{"imap.tls_listen", c.IMAP.TLSListen},
		{"immp.listen", c.IMMP.Listen},
		{"immp.tls_listen", c.IMMP.TLSListen},
		{"http.listen", c.HTTP.Listen},
		{"http.tls_listen", c.HTTP.TLSListen},
	}
	var on []Listener
	for _, l := range all {
		if l.Addr != "" {
			on = append(on, l)
		}
	}
	return on
}
