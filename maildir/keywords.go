package maildir

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// dovecot-keywords, one per folder: "<index> <keyword>" lines; index 0 is
// the info letter 'a', 25 is 'z' (Dovecot 2.3 maildir-keywords.c). So a
// folder holds at most 26 keywords in file names.
const keywordsName = "dovecot-keywords"

const maxKeywords = 26

// ErrTooManyKeywords is returned when a folder would need a 27th keyword.
var ErrTooManyKeywords = fmt.Errorf("maildir: more than %d keywords in one folder", maxKeywords)

type keywords struct {
	names [maxKeywords]string
	st    os.FileInfo
}

func readKeywords(dir string) (*keywords, error) {
	kw := &keywords{}
	path := filepath.Join(dir, keywordsName)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return kw, nil
	}
	if err != nil {
		return nil, fmt.Errorf("maildir: read keywords: %w", err)
	}
	kw.st, _ = os.Stat(path)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		idx, name, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= maxKeywords || name == "" {
			continue
		}
		kw.names[i] = name
	}
	return kw, nil
}

// letter returns the letter of keyword name (case-insensitive match).
func (kw *keywords) letter(name string) (byte, bool) {
	for i, n := range kw.names {
		if n != "" && strings.EqualFold(n, name) {
			return byte('a' + i), true
		}
	}
	return 0, false
}

func (kw *keywords) name(letter byte) string {
	if letter < 'a' || letter > 'z' {
		return ""
	}
	return kw.names[letter-'a']
}

// add gives name a letter, writing dovecot-keywords (under its dot lock,
// re-read first so a keyword Dovecot added meanwhile is kept).
func (s *Store) addKeyword(ctx context.Context, dir string, kw *keywords, name string) (byte, error) {
	path := filepath.Join(dir, keywordsName)
	lock, err := s.dotlock(ctx, path)
	if err != nil {
		return 0, err
	}
	defer lock.release()
	fresh, err := readKeywords(dir)
	if err != nil {
		return 0, err
	}
	*kw = *fresh
	if l, ok := kw.letter(name); ok {
		return l, nil
	}
	free := -1
	for i, n := range kw.names {
		if n == "" {
			free = i
			break
		}
	}
	if free < 0 {
		return 0, ErrTooManyKeywords
	}
	kw.names[free] = name
	var b strings.Builder
	for i, n := range kw.names {
		if n != "" {
			fmt.Fprintf(&b, "%d %s\n", i, n)
		}
	}
	if err := s.replaceFile(path, []byte(b.String())); err != nil {
		kw.names[free] = ""
		return 0, err
	}
	kw.st, _ = os.Stat(path)
	return byte('a' + free), nil
}
