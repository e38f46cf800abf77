package maildir

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Options configures a Store.
type Options struct {
	// DataDir holds immp.db and mail/ (DESIGN "Storage").
	DataDir string
	// Logger receives one line per notable storage event; nil discards.
	Logger *slog.Logger
	// AutoCreate turns on the test-bed mode: Authenticate creates an
	// unknown account with the password given, EnsureAccount creates one
	// on delivery. Off, nothing is created implicitly.
	AutoCreate bool
	// BusyTimeout is SQLite's busy_timeout (another process holding the
	// write lock, e.g. the CLI while the server runs). Default 5s.
	BusyTimeout time.Duration
	// DefaultQuota is every account's storage quota in octets unless it
	// has its own (SetQuota); 0 is unlimited (quota.go).
	DefaultQuota int64
	// NoSync skips every fsync. Only for tests and benchmarks that measure
	// something else; never set it in production.
	NoSync bool
	// AuthCacheTTL is how long a verified password is remembered so that
	// the next login with it skips argon2id (authcache.go). 0: one hour;
	// negative: no cache.
	AuthCacheTTL time.Duration
	// PasswordHashers bounds the password hash computations running at
	// once, each holding about 19 MiB (password.go). 0: GOMAXPROCS - 1,
	// at least 1: under a flood of guesses one core stays for everything
	// else (sessions, deliveries, logins served from the auth cache).
	PasswordHashers int
	// PasswordHashWait is how long a login waits for a free hasher before
	// it fails with ErrAuthBusy. 0: 2s.
	PasswordHashWait time.Duration

	// cheapHash lowers the password hashing cost; tests only.
	cheapHash bool
	// fs replaces the file system of the durable path (fsys.go); tests
	// only.
	fs fileSystem
}

// Store is the mailbox layer: one per data directory per process. All
// methods are safe for concurrent use.
type Store struct {
	opts    Options
	log     *slog.Logger
	dataDir string
	mailDir string

	wdb *sql.DB // the one writer connection (MaxOpenConns 1)
	rdb *sql.DB // read pool (query_only)

	// guard version cache (guard.go)
	verMu         sync.Mutex
	verConn       *sql.Conn
	verDV         int64
	verVal        int64
	verOK         bool
	verLocal      int64
	verDB, verWAL fileID
	verAt         time.Time
	guardLocal    atomic.Int64 // bumped after this process commits a guard change
	dbPath        string

	dummyHash string     // verified against for unknown accounts (timing)
	hashers   *hashGate  // bounds concurrent password hashing (password.go)
	authCache *authCache // verified logins, nil when off (authcache.go)

	mu     sync.Mutex
	boxes  map[boxKey]*mailbox // shared per-folder state, one per process
	busy   map[boxKey]int      // names being renamed or deleted (lockBoxes)
	treeMu map[int64]*sync.Mutex
	closed bool
	stop   chan struct{} // closed by Close: background loops end

	gone         map[int64]chan struct{} // AccountGone (lifecycle.go)
	goneWatching bool

	// lfMu guards lockFiles, the lock owner files made by dotlock and
	// removed by Close. A leaf lock: dotlock runs under folder locks.
	lfMu      sync.Mutex
	lockFiles map[string]bool

	subs arrivalSubs // arrival subscriptions (notify.go)

	opened time.Time // \Recent floor for folders first used later (watch.go)

	dirLinger  time.Duration // see dirLinger in commit.go (tests lengthen it)
	listLinger time.Duration // see listLinger in commit.go (likewise)
	// beforeScanLock, when set (tests), runs in refresh just before the
	// commit lock is taken: where a batch may start unseen by settle.
	beforeScanLock func()
	fs             fileSystem // the durable path's writes and syncs (fsys.go)

	hostname string
	pid      int
	seq      atomic.Uint64
	accounts accountCache // lookups by address, under GuardVersion (acctcache.go)
	quota    quotaState   // usage totals and limits (quota.go)

	spoolOnce    sync.Once // probe for unnamed spool files (spool.go)
	spoolBufs    sync.Pool // *bufio.Writer of spoolBufSize (delivery.go)
	spoolUnnamed bool
	bg           sync.WaitGroup // background work (index saves, compaction)

	// fault, when set (tests only), is asked at named points of the
	// commit path and may return an error to inject (an I/O error the
	// test cannot make happen for real at that exact point).
	fault func(point string) error
}

func (s *Store) inject(point string) error {
	if s.fault == nil {
		return nil
	}
	return s.fault(point)
}

// Open opens (creating if needed) the store under opts.DataDir.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.DataDir == "" {
		return nil, errors.New("maildir: DataDir is empty")
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.PasswordHashers <= 0 {
		opts.PasswordHashers = max(1, runtime.GOMAXPROCS(0)-1)
	}
	if opts.PasswordHashWait <= 0 {
		opts.PasswordHashWait = 2 * time.Second
	}
	authCache, err := newAuthCache(opts.AuthCacheTTL, authCacheMax)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("maildir: data dir: %w", err)
	}
	mailDir := filepath.Join(dataDir, "mail")
	if err := os.MkdirAll(mailDir, 0o700); err != nil {
		return nil, fmt.Errorf("maildir: create data dir: %w", err)
	}
	s := &Store{
		opts:       opts,
		log:        log,
		dataDir:    dataDir,
		mailDir:    mailDir,
		boxes:      make(map[boxKey]*mailbox),
		treeMu:     make(map[int64]*sync.Mutex),
		lockFiles:  make(map[string]bool),
		stop:       make(chan struct{}),
		pid:        os.Getpid(),
		dirLinger:  dirLinger,
		listLinger: listLinger,
		fs:         opts.fs,
		hashers:    newHashGate(opts.PasswordHashers, opts.PasswordHashWait),
		authCache:  authCache,
	}
	if s.fs == nil {
		s.fs = osFS{}
	}
	s.hostname = maildirHostname()
	s.opened = time.Now()

	dbPath := filepath.Join(dataDir, "immp.db")
	s.dbPath = dbPath
	if err := s.privateDB(dbPath); err != nil {
		return nil, err
	}
	ms := opts.BusyTimeout.Milliseconds()
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", ms))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	s.wdb, err = sql.Open("sqlite", "file:"+dbPath+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("maildir: open db: %w", err)
	}
	s.wdb.SetMaxOpenConns(1) // one writer connection
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	if err := migrate(ctx, s.wdb); err != nil {
		s.wdb.Close()
		return nil, err
	}
	rq := url.Values{}
	rq.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", ms))
	rq.Add("_pragma", "foreign_keys(1)")
	rq.Add("_pragma", "query_only(1)")
	s.rdb, err = sql.Open("sqlite", "file:"+dbPath+"?"+rq.Encode())
	if err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("maildir: open db: %w", err)
	}
	s.rdb.SetMaxOpenConns(4)
	s.rdb.SetMaxIdleConns(4)
	s.cleanSpool()
	s.dummyHash, err = s.newDummyHash() // dummyhash.go
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the database; folders and deliveries must not be used
// afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s.saveIndexes(ctx) // modseqs survive a clean restart (modseq.go)
	cancel()
	s.mu.Lock()
	s.closed = true
	close(s.stop)
	// Committers lingering over the fsync of a list do it now.
	for _, mb := range s.boxes {
		mb.gc.kicked.Store(true)
		mb.gc.poke()
	}
	s.mu.Unlock()
	s.bg.Wait()
	s.lfMu.Lock()
	for f := range s.lockFiles {
		os.Remove(f)
	}
	s.lfMu.Unlock()
	s.verMu.Lock()
	if s.verConn != nil {
		s.verConn.Close()
		s.verConn = nil
	}
	s.verMu.Unlock()
	err1 := s.rdb.Close()
	err2 := s.wdb.Close()
	return errors.Join(err1, err2)
}

// DataDir returns the absolute data directory.
func (s *Store) DataDir() string { return s.dataDir }

// accountTree returns the per-account mutex serialising changes to the
// folder tree (create/delete/rename/replace/subscriptions) in this process.
func (s *Store) accountTree(id int64) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.treeMu[id]
	if m == nil {
		m = new(sync.Mutex)
		s.treeMu[id] = m
	}
	return m
}
