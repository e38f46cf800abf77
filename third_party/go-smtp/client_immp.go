package smtp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// StartTLS sends STARTTLS (RFC 3207) on a client whose EHLO has been
// sent (Hello) and encrypts all further communication; the next command
// sends EHLO again. Upstream keeps this private; immp's outbound delivery
// needs its own EHLO name before STARTTLS and a per-host TLS policy.
func (c *Client) StartTLS(config *tls.Config) error {
	return c.startTLS(config)
}

// PipelineResult is the outcome of SendPipelined: the reply to MAIL, to
// each RCPT (nil: accepted), and to the message data.
type PipelineResult struct {
	Mail  error
	Rcpts []error
	// Data is the reply to DATA (354 expected) or, once the data was
	// sent, to its final dot; nil with DataText set means accepted.
	Data     error
	DataText string
	// Accepted counts the recipients accepted (the data was sent only if
	// at least one was).
	Accepted int
}

// SendPipelined sends one transaction with PIPELINING (RFC 2920): MAIL,
// every RCPT and DATA in one write, then their replies read in order;
// the message follows when DATA got 354 and at least one RCPT was
// accepted. Without PIPELINING offered the commands go one at a time.
// A transport error (not a reply) is returned as err and leaves the
// connection unusable; replies are in the result.
func (c *Client) SendPipelined(from string, opts *MailOptions, rcpts []string, r io.Reader) (res PipelineResult, err error) {
	if err := validateLine(from); err != nil {
		return res, err
	}
	for _, to := range rcpts {
		if err := validateLine(to); err != nil {
			return res, err
		}
	}
	if err := c.hello(); err != nil {
		return res, err
	}
	if _, ok := c.ext["PIPELINING"]; !ok {
		return c.sendSerial(from, opts, rcpts, r)
	}
	mail, err := c.mailLine(from, opts)
	if err != nil {
		return res, err
	}
	c.conn.SetDeadline(time.Now().Add(c.CommandTimeout))
	defer c.conn.SetDeadline(time.Time{})
	w := c.text.Writer.W
	fmt.Fprintf(w, "%s\r\n", mail)
	for _, to := range rcpts {
		fmt.Fprintf(w, "RCPT TO:<%s>\r\n", to)
	}
	w.WriteString("DATA\r\n")
	if err := w.Flush(); err != nil {
		return res, err
	}
	res.Rcpts = make([]error, len(rcpts))
	var transport error
	read := func(expect int) (string, error) {
		_, msg, err := c.readResponse(expect)
		var se *SMTPError
		if err != nil && !errors.As(err, &se) {
			transport = err
		}
		return msg, err
	}
	if _, res.Mail = read(250); transport != nil {
		return res, transport
	}
	for i := range rcpts {
		if _, res.Rcpts[i] = read(25); transport != nil {
			return res, transport
		}
		if res.Mail == nil && res.Rcpts[i] == nil {
			res.Accepted++
		}
	}
	c.rcpts = nil
	_, dataErr := read(354)
	if transport != nil {
		return res, transport
	}
	switch {
	case dataErr != nil:
		res.Data = dataErr
		return res, nil
	case res.Mail != nil || res.Accepted == 0:
		// DATA was accepted although nothing can be delivered (RFC 2920
		// 3.1): end it with an empty message, whose reply is expected
		// to be an error and is ignored.
		c.text.Writer.W.WriteString(".\r\n")
		if err := c.text.Writer.W.Flush(); err != nil {
			return res, err
		}
		c.readResponse(250)
		if transport != nil {
			return res, transport
		}
		res.Data = errors.New("smtp: no recipient accepted")
		return res, nil
	}
	return c.sendData(res, r)
}

// sendSerial is SendPipelined's path for a server without PIPELINING.
func (c *Client) sendSerial(from string, opts *MailOptions, rcpts []string, r io.Reader) (res PipelineResult, err error) {
	res.Rcpts = make([]error, len(rcpts))
	split := func(e error) (reply, transport error) {
		var se *SMTPError
		if e != nil && !errors.As(e, &se) {
			return nil, e
		}
		return e, nil
	}
	if res.Mail, err = split(c.Mail(from, opts)); err != nil || res.Mail != nil {
		return res, err
	}
	for i, to := range rcpts {
		if res.Rcpts[i], err = split(c.Rcpt(to, nil)); err != nil {
			return res, err
		}
		if res.Rcpts[i] == nil {
			res.Accepted++
		}
	}
	if res.Accepted == 0 {
		res.Data = errors.New("smtp: no recipient accepted")
		return res, nil
	}
	c.conn.SetDeadline(time.Now().Add(c.CommandTimeout))
	_, _, derr := c.cmd(354, "DATA")
	c.conn.SetDeadline(time.Time{})
	if res.Data, err = split(derr); err != nil || res.Data != nil {
		return res, err
	}
	return c.sendData(res, r)
}

// sendData writes the message after a 354 and reads the final reply.
func (c *Client) sendData(res PipelineResult, r io.Reader) (PipelineResult, error) {
	c.conn.SetDeadline(time.Now().Add(c.SubmissionTimeout))
	defer c.conn.SetDeadline(time.Time{})
	dw := c.text.DotWriter()
	if _, err := io.Copy(dw, r); err != nil {
		return res, err
	}
	if err := dw.Close(); err != nil {
		return res, err
	}
	_, msg, err := c.readResponse(250)
	var se *SMTPError
	if err != nil && !errors.As(err, &se) {
		return res, err
	}
	res.Data, res.DataText = err, msg
	return res, nil
}

// mailLine is the MAIL command with the parameters Mail would send.
func (c *Client) mailLine(from string, opts *MailOptions) (string, error) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "MAIL FROM:<%s>", from)
	if _, ok := c.ext["8BITMIME"]; ok {
		sb.WriteString(" BODY=8BITMIME")
	}
	if _, ok := c.ext["SIZE"]; ok && opts != nil && opts.Size != 0 {
		fmt.Fprintf(&sb, " SIZE=%v", opts.Size)
	}
	if opts != nil && opts.UTF8 {
		if _, ok := c.ext["SMTPUTF8"]; !ok {
			return "", errors.New("smtp: server does not support SMTPUTF8")
		}
		sb.WriteString(" SMTPUTF8")
	}
	return sb.String(), nil
}
