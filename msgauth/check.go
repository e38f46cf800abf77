package msgauth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
)

// Defaults of CheckerOptions.
const (
	// DefaultCheckTimeout bounds all the DNS work of one message.
	DefaultCheckTimeout = 20 * time.Second
	// DefaultMaxSignatures DKIM signatures are verified per message; the
	// others are ignored (each costs a DNS query and a pass over the body).
	DefaultMaxSignatures = 5
	// MaxHeaderBytes of a message are read to find From and the
	// signatures; beyond that the header is not parsed (permerror).
	MaxHeaderBytes = 1 << 20
)

// CheckerOptions configures a Checker.
type CheckerOptions struct {
	// Resolver answers every lookup (internal/resolver.New); nil: the
	// system's.
	Resolver *net.Resolver
	// AuthservID names this server in Authentication-Results (RFC 8601
	// 2.5); required.
	AuthservID    string
	Timeout       time.Duration // default DefaultCheckTimeout
	MaxSignatures int           // default DefaultMaxSignatures
	Logger        *slog.Logger
	// Sample returns a number in [0, 100) for DMARC pct (RFC 7489
	// 6.6.4); nil: random.
	Sample func() int
}

// Checker runs the inbound checks of the Receiver-SMTP; safe for
// concurrent use.
type Checker struct {
	opts CheckerOptions
	res  *net.Resolver
	log  *slog.Logger
}

// NewChecker returns a Checker.
func NewChecker(opts CheckerOptions) (*Checker, error) {
	if opts.AuthservID == "" {
		return nil, errors.New("msgauth: AuthservID is required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultCheckTimeout
	}
	if opts.MaxSignatures <= 0 {
		opts.MaxSignatures = DefaultMaxSignatures
	}
	if opts.Sample == nil {
		opts.Sample = func() int { return rand.IntN(100) }
	}
	res := opts.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checker{opts: opts, res: res, log: log}, nil
}

// AuthservID is the name in the fields this Checker writes.
func (c *Checker) AuthservID() string { return c.opts.AuthservID }

// Envelope is what SPF checks: the client, its HELO and the reverse-path.
type Envelope struct {
	IP       netip.Addr
	Helo     string
	MailFrom string // "" for the null sender
}

// SPF is an SPF evaluation started at MAIL time and read at the end of
// DATA, so its DNS round trips overlap with the transfer of the message.
type SPF struct {
	done     chan struct{}
	cancel   context.CancelFunc
	mailFrom spfOutcome
	helo     spfOutcome // result "" when HELO is not a domain
}

type spfOutcome struct {
	result   spf.Result
	identity string // smtp.mailfrom or smtp.helo value
	domain   string
	err      error
}

// StartSPF evaluates SPF (RFC 7208) for the MAIL FROM identity (for the
// null sender postmaster@HELO, RFC 7208 2.4) and the HELO identity (2.3),
// in the background. Wait for it with (*SPF).wait through Check; Stop it
// when the transaction is abandoned.
func (c *Checker) StartSPF(env Envelope) *SPF {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	s := &SPF{done: make(chan struct{}), cancel: cancel}
	helo := strings.TrimSuffix(env.Helo, ".")
	heloIsDomain := helo != "" && !strings.HasPrefix(helo, "[") && strings.Contains(helo, ".")
	ip := net.IP(env.IP.Unmap().AsSlice())
	go func() {
		defer close(s.done)
		defer cancel()
		opts := []spf.Option{spf.WithContext(ctx), spf.WithResolver(c.res)}
		sender := env.MailFrom
		if sender == "" {
			sender = "postmaster@" + helo
		}
		s.mailFrom.identity = sender
		s.mailFrom.domain = strings.ToLower(sender[strings.LastIndexByte(sender, '@')+1:])
		if sender == "postmaster@" || !strings.Contains(sender, "@") {
			s.mailFrom.result = spf.None
		} else {
			s.mailFrom.result, s.mailFrom.err = spf.CheckHostWithSender(ip, helo, sender, opts...)
		}
		if heloIsDomain && env.MailFrom == "" {
			// The MAIL FROM check was the HELO check (RFC 7208 2.4).
			s.helo = s.mailFrom
			s.helo.identity = helo
		} else if heloIsDomain {
			s.helo.identity = helo
			s.helo.domain = strings.ToLower(helo)
			s.helo.result, s.helo.err = spf.CheckHostWithSender(ip, helo, "postmaster@"+helo, opts...)
		}
	}()
	return s
}

// Stop abandons the evaluation.
func (s *SPF) Stop() {
	if s != nil {
		s.cancel()
	}
}

// Action is what a message's verdict asks of delivery.
type Action int

const (
	Accept     Action = iota
	Quarantine        // DMARC p=quarantine failure: file into Junk
	Reject            // DMARC p=reject failure: 550 5.7.1
)

// Verdict is the outcome of the checks of one message.
type Verdict struct {
	// Header is the Authentication-Results field to prepend, CRLF
	// terminated.
	Header string
	Action Action
	// Domain and Reason explain a Quarantine or Reject (logs, replies).
	Domain, Reason string
	// Summary is "spf=pass dkim=none dmarc=none" for the log line.
	Summary string
}

// Checked is a message after the checks: what to deliver and the verdict.
type Checked struct {
	Verdict Verdict
	// Message is the message to store: as received, minus any
	// Authentication-Results field carrying our authserv-id (RFC 8601
	// 5); Header is not part of it.
	Message io.Reader
}

// Check waits for spf, verifies the DKIM signatures of the message in sp
// (RFC 6376 6), evaluates DMARC (RFC 7489 6.6) and returns the verdict
// with the message to store. ctx bounds the whole check together with the
// configured timeout. Only a failure to read the spool is an error: DNS
// trouble is a temperror result, never a refusal.
func (c *Checker) Check(ctx context.Context, s *SPF, sp *Spool) (Checked, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()

	hdr, bodyOff, err := readHeader(sp)
	if err != nil {
		return Checked{}, err
	}
	stripped, _ := stripOwnResults(hdr, c.opts.AuthservID)
	msg := io.MultiReader(bytes.NewReader(stripped), sp.Section(bodyOff))

	var rs []result
	// SPF, started at MAIL.
	select {
	case <-s.done:
	case <-ctx.Done():
		s.Stop()
		<-s.done
	}
	rs = append(rs, spfResult(s.mailFrom, "smtp.mailfrom"))
	if s.helo.result != "" {
		rs = append(rs, spfResult(s.helo, "smtp.helo"))
	}

	// DKIM: every signature up to the cap, in one pass over the body.
	var dkimPass []string
	tags := dkimSignatures(hdr, c.opts.MaxSignatures)
	if len(tags) == 0 {
		rs = append(rs, result{method: "dkim", value: "none"})
	} else {
		verifs, err := dkim.VerifyWithOptions(sp.Section(0), &dkim.VerifyOptions{
			MaxVerifications: c.opts.MaxSignatures,
			LookupTXT: func(name string) ([]string, error) {
				return c.res.LookupTXT(ctx, fqdn(name))
			},
		})
		if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
			rs = append(rs, result{method: "dkim", value: "permerror", reason: err.Error()})
		}
		for i, v := range verifs {
			r := result{method: "dkim"}
			switch {
			case v.Err == nil:
				r.value = "pass"
				dkimPass = append(dkimPass, v.Domain)
			case dkim.IsTempFail(v.Err):
				r.value, r.reason = "temperror", v.Err.Error()
			case dkim.IsPermFail(v.Err):
				r.value, r.reason = "permerror", v.Err.Error()
			default:
				r.value, r.reason = "fail", v.Err.Error()
			}
			d := v.Domain
			var t sigTags
			if i < len(tags) {
				t = tags[i]
				if d == "" {
					d = t.d
				}
			}
			if d != "" {
				r.props = append(r.props, [2]string{"header.d", d})
			}
			if t.s != "" {
				r.props = append(r.props, [2]string{"header.s", t.s})
			}
			if t.b != "" {
				// RFC 6008 2: the first 8 characters tell signatures apart.
				r.props = append(r.props, [2]string{"header.b", t.b[:min(8, len(t.b))]})
			}
			rs = append(rs, r)
		}
	}

	// DMARC: SPF counts with the MAIL FROM identity (the HELO one for the
	// null sender, RFC 7489 3.1.2).
	from := singleFromDomain(hdr)
	spfPass := s.mailFrom.result == spf.Pass
	spfDomain := s.mailFrom.domain
	dm := c.evalDMARC(ctx, from, spfPass, spfDomain, dkimPass)
	r := result{method: "dmarc", value: dm.result, reason: dm.reason}
	if dm.result == "fail" {
		r.reason = "p=" + string(dm.policy)
		if dm.applied != dm.policy {
			r.reason += " (pct sample: " + string(dm.applied) + ")"
		}
	}
	if from != "" {
		r.props = append(r.props, [2]string{"header.from", from})
	}
	rs = append(rs, r)

	v := Verdict{Header: formatResults(c.opts.AuthservID, rs), Domain: from}
	var sum []string
	for _, r := range rs {
		sum = append(sum, r.method+"="+r.value)
	}
	v.Summary = strings.Join(sum, " ")
	if dm.result == "fail" {
		switch dm.applied {
		case dmarc.PolicyReject:
			v.Action, v.Reason = Reject, "DMARC policy of "+from+" is reject"
		case dmarc.PolicyQuarantine:
			v.Action, v.Reason = Quarantine, "DMARC policy of "+from+" is quarantine"
		}
	}
	return Checked{Verdict: v, Message: msg}, nil
}

func spfResult(o spfOutcome, ptype string) result {
	r := result{method: "spf", value: string(o.result)}
	if r.value == "" {
		r.value = string(spf.None)
	}
	switch o.result {
	case spf.TempError, spf.PermError:
		if o.err != nil {
			r.reason = o.err.Error()
		}
	}
	r.props = [][2]string{{ptype, o.identity}}
	return r
}

// readHeader reads the header section of the spooled message (at most
// MaxHeaderBytes) and returns it without the empty line, with the offset
// of the body (the message from bodyOff on is the empty line and body).
func readHeader(sp *Spool) ([]byte, int64, error) {
	br := bufio.NewReaderSize(sp.Section(0), 32<<10)
	var hdr []byte
	lineStart := true
	for {
		line, err := br.ReadSlice('\n')
		if lineStart && (bytes.Equal(line, []byte("\r\n")) || bytes.Equal(line, []byte("\n"))) {
			return hdr, int64(len(hdr)), nil
		}
		hdr = append(hdr, line...)
		if len(hdr) > MaxHeaderBytes {
			// Too large to parse: stored as it is, checked as no header.
			return nil, 0, nil
		}
		switch {
		case err == nil:
			lineStart = true
		case errors.Is(err, bufio.ErrBufferFull):
			lineStart = false
		case err == io.EOF:
			return hdr, int64(len(hdr)), nil // all header, no body
		default:
			return nil, 0, err
		}
	}
}

// isTemporary: a DNS failure worth retrying (RFC 7208 2.6.6 temperror).
func isTemporary(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && (de.IsTemporary || de.IsTimeout)
}
