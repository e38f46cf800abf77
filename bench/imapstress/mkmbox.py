#!/usr/bin/env python3
"""Writes an mbox of N varied messages (default 300) to stdout, for
imaptest's stress mode: plain and multipart bodies, several sizes,
address lists with names, comments and groups."""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
rnd = random.Random(42)
words = ("mail server folder message client protocol delivery flag keyword "
         "search envelope header body part subject sender receiver").split()


def text(k):
    return " ".join(rnd.choice(words) for _ in range(k))


out = sys.stdout
for i in range(n):
    frm = rnd.choice(['"User %d" <user%d@example.org>' % (i, i),
                      "user%d@example.org (User %d)" % (i, i),
                      "<user%d@example.org>" % i])
    to = rnd.choice(["rcpt%d@example.com" % i,
                     "team: a%d@example.com, b%d@example.com;" % (i, i),
                     '"Rcpt" <rcpt%d@example.com>, other@example.net' % i])
    out.write("From user%d@example.org Mon Jan  1 00:00:%02d 2024\n" % (i, i % 60))
    out.write("From: %s\nTo: %s\nSubject: %s %d\n" % (frm, to, text(4), i))
    out.write("Date: Mon, 1 Jan 2024 %02d:%02d:00 +0000\n" % (i % 24, i % 60))
    out.write("Message-ID: <%d.stress@example.org>\n" % i)
    body = "\n".join(text(12) for _ in range(rnd.choice([3, 20, 200])))
    if i % 3 == 0:
        out.write('MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b%d"\n\n' % i)
        out.write("--b%d\nContent-Type: text/plain\n\n%s\n" % (i, body))
        out.write("--b%d\nContent-Type: application/octet-stream\n"
                  "Content-Transfer-Encoding: base64\n\nAAECAwQFBgcICQ==\n--b%d--\n\n" % (i, i))
    else:
        out.write("\n%s\n\n" % body)
