//go:build cgo && !purego && linux

package sqlite

/*
#include <stdlib.h>
#include <string.h>

// The parts of sqlite3.h this file needs (SQLite's stable VFS interface).
// The functions are defined in github.com/mattn/go-sqlite3's copy of
// SQLite, linked into the same binary; weak, so that cgo's check link of
// this package alone does not fail on them.
typedef long long sqlite3_int64;
typedef struct sqlite3_file sqlite3_file;
typedef struct sqlite3_io_methods sqlite3_io_methods;
typedef struct sqlite3_vfs sqlite3_vfs;
typedef void (*sqlite3_syscall_ptr)(void);
struct sqlite3_file { const sqlite3_io_methods *pMethods; };
struct sqlite3_io_methods {
	int iVersion;
	int (*xClose)(sqlite3_file*);
	int (*xRead)(sqlite3_file*, void*, int, sqlite3_int64);
	int (*xWrite)(sqlite3_file*, const void*, int, sqlite3_int64);
	int (*xTruncate)(sqlite3_file*, sqlite3_int64);
	int (*xSync)(sqlite3_file*, int);
	int (*xFileSize)(sqlite3_file*, sqlite3_int64*);
	int (*xLock)(sqlite3_file*, int);
	int (*xUnlock)(sqlite3_file*, int);
	int (*xCheckReservedLock)(sqlite3_file*, int*);
	int (*xFileControl)(sqlite3_file*, int, void*);
	int (*xSectorSize)(sqlite3_file*);
	int (*xDeviceCharacteristics)(sqlite3_file*);
	int (*xShmMap)(sqlite3_file*, int, int, int, void volatile**);
	int (*xShmLock)(sqlite3_file*, int, int, int);
	void (*xShmBarrier)(sqlite3_file*);
	int (*xShmUnmap)(sqlite3_file*, int);
	int (*xFetch)(sqlite3_file*, sqlite3_int64, int, void**);
	int (*xUnfetch)(sqlite3_file*, sqlite3_int64, void*);
};
struct sqlite3_vfs {
	int iVersion;
	int szOsFile;
	int mxPathname;
	sqlite3_vfs *pNext;
	const char *zName;
	void *pAppData;
	int (*xOpen)(sqlite3_vfs*, const char*, sqlite3_file*, int, int*);
	void *rest[15]; // xDelete .. xNextSystemCall, taken over unchanged
};
extern sqlite3_vfs *sqlite3_vfs_find(const char*) __attribute__((weak));
extern int sqlite3_vfs_register(sqlite3_vfs*, int) __attribute__((weak));

#define SQLITE_OK 0
#define SQLITE_ERROR 1
#define SQLITE_NOMEM 7
#define SQLITE_OPEN_WAL 0x00080000
#define WAL_FRAME_HDRSIZE 24
// The unix VFS writes at most 128 KiB - 1 in one call (seekAndWrite).
#define WALBUF_SIZE 0x1ffff

// walbuf_file wraps a file of the default VFS. For a write-ahead log it
// gathers the frames a transaction appends, each written by SQLite as two
// calls (its 24-byte header, then the page), into one buffer, and writes
// the buffer with one call when the transaction's commit frame is complete:
// before SQLite publishes the commit to other connections, which read the
// log through their own files, and before the commit returns, so a commit
// is in the operating system as it would be without the buffer. Anything
// else done to the log (a read, a write elsewhere, a sync, its size, a
// truncation, a file control, closing) writes the buffer first.
typedef struct walbuf_file {
	sqlite3_file base;
	sqlite3_file *real;     // the default VFS's file, allocated just after
	int wal;                // a write-ahead log: buffer its appends
	int commit;             // the last header written was a commit frame's
	char *buf;              // WALBUF_SIZE bytes, allocated on first use
	int len;                // bytes buffered
	sqlite3_int64 off;      // the file offset of buf[0]
	sqlite3_int64 end;      // the end of the furthest append since the log started over
} walbuf_file;

static sqlite3_vfs *walbuf_orig;
static sqlite3_vfs walbuf_vfs;

static int walbuf_flush(walbuf_file *p) {
	if (p->len == 0) return SQLITE_OK;
	int rc = p->real->pMethods->xWrite(p->real, p->buf, p->len, p->off);
	p->len = 0;
	return rc;
}

#define REAL(f) (((walbuf_file*)(f))->real)
#define FLUSHED(f, call) do { \
	int rc_ = walbuf_flush((walbuf_file*)(f)); \
	if (rc_ != SQLITE_OK) return rc_; \
	return REAL(f)->pMethods->call; \
} while (0)

static int walbuf_close(sqlite3_file *f) {
	walbuf_file *p = (walbuf_file*)f;
	int rc = walbuf_flush(p);
	int rc2 = p->real->pMethods->xClose(p->real);
	free(p->buf);
	p->buf = 0;
	return rc != SQLITE_OK ? rc : rc2;
}

static int walbuf_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off) {
	FLUSHED(f, xRead(REAL(f), b, n, off));
}

static int walbuf_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off) {
	walbuf_file *p = (walbuf_file*)f;
	if (!p->wal) return p->real->pMethods->xWrite(p->real, b, n, off);
	if (p->len > 0 && (off != p->off + p->len || n > WALBUF_SIZE - p->len)) {
		int rc = walbuf_flush(p);
		if (rc != SQLITE_OK) return rc;
	}
	if (off == 0) p->end = 0; // the log's header: the log starts over
	if (p->len == 0 && off < p->end) {
		// Not an append: SQLite rewriting what it wrote (a frame's page
		// or header, in the transaction being committed). Such a header
		// may be the last write before the commit is published, so it
		// is never held back.
		return p->real->pMethods->xWrite(p->real, b, n, off);
	}
	if (n > WALBUF_SIZE) {
		int rc = p->real->pMethods->xWrite(p->real, b, n, off);
		if (rc == SQLITE_OK && off + n > p->end) p->end = off + n;
		return rc;
	}
	if (p->buf == 0 && (p->buf = malloc(WALBUF_SIZE)) == 0) {
		return SQLITE_NOMEM;
	}
	if (p->len == 0) p->off = off;
	memcpy(p->buf + p->len, b, n);
	p->len += n;
	if (off + n > p->end) p->end = off + n;
	if (n == WAL_FRAME_HDRSIZE) {
		// Bytes 4-7 of a frame header: the database's size in pages
		// after a commit, in the commit frame; 0 in every other frame.
		// SQLite writes a frame's page right after its header.
		const unsigned char *h = b;
		p->commit = (h[4] | h[5] | h[6] | h[7]) != 0;
		return SQLITE_OK;
	}
	if (p->commit) {
		// The commit frame's page. Its header may have gone out
		// already, with the buffer it filled: commit outlives a flush.
		p->commit = 0;
		return walbuf_flush(p);
	}
	return SQLITE_OK;
}

static int walbuf_truncate(sqlite3_file *f, sqlite3_int64 size) { FLUSHED(f, xTruncate(REAL(f), size)); }
static int walbuf_sync(sqlite3_file *f, int flags) { FLUSHED(f, xSync(REAL(f), flags)); }
static int walbuf_file_size(sqlite3_file *f, sqlite3_int64 *size) { FLUSHED(f, xFileSize(REAL(f), size)); }
static int walbuf_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int walbuf_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int walbuf_check_reserved_lock(sqlite3_file *f, int *out) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out); }
static int walbuf_file_control(sqlite3_file *f, int op, void *arg) { FLUSHED(f, xFileControl(REAL(f), op, arg)); }
static int walbuf_sector_size(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int walbuf_device_characteristics(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int walbuf_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp) { return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp); }
static int walbuf_shm_lock(sqlite3_file *f, int off, int n, int flags) { return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags); }
static void walbuf_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int walbuf_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int walbuf_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp) { return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp); }
static int walbuf_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) { return REAL(f)->pMethods->xUnfetch(REAL(f), off, p); }

static const sqlite3_io_methods walbuf_methods = {
	3,
	walbuf_close, walbuf_read, walbuf_write, walbuf_truncate, walbuf_sync,
	walbuf_file_size, walbuf_lock, walbuf_unlock, walbuf_check_reserved_lock,
	walbuf_file_control, walbuf_sector_size, walbuf_device_characteristics,
	walbuf_shm_map, walbuf_shm_lock, walbuf_shm_barrier, walbuf_shm_unmap,
	walbuf_fetch, walbuf_unfetch,
};

static int walbuf_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out) {
	walbuf_file *p = (walbuf_file*)f;
	memset(p, 0, sizeof(*p));
	p->real = (sqlite3_file*)(p + 1);
	int rc = walbuf_orig->xOpen(walbuf_orig, name, p->real, flags, out);
	if (rc != SQLITE_OK) {
		if (p->real->pMethods != 0) p->real->pMethods->xClose(p->real);
		p->base.pMethods = 0;
		return rc;
	}
	if (p->real->pMethods->iVersion < 3) {
		// Not the unix VFS this was written against: step aside.
		p->real->pMethods->xClose(p->real);
		p->base.pMethods = 0;
		return SQLITE_ERROR;
	}
	p->wal = (flags & SQLITE_OPEN_WAL) != 0;
	p->base.pMethods = &walbuf_methods;
	return SQLITE_OK;
}

// walbuf_register registers the VFS as name, over the default one.
static int walbuf_register(const char *name) {
	if (sqlite3_vfs_find == 0 || sqlite3_vfs_register == 0) return SQLITE_ERROR;
	walbuf_orig = sqlite3_vfs_find(0);
	if (walbuf_orig == 0) return SQLITE_ERROR;
	walbuf_vfs = *walbuf_orig;
	walbuf_vfs.pNext = 0;
	walbuf_vfs.zName = name;
	walbuf_vfs.szOsFile = sizeof(walbuf_file) + walbuf_orig->szOsFile;
	walbuf_vfs.xOpen = walbuf_open;
	return sqlite3_vfs_register(&walbuf_vfs, 0);
}
*/
import "C"

import "fmt"

// walbufVFS names the VFS registered by registerWALBuf.
const walbufVFS = "hookd-walbuf"

// registerWALBuf registers walbufVFS: SQLite's default VFS, except that a
// write-ahead log's frames are written once per transaction instead of
// twice per page (see walbuf_file above).
func registerWALBuf() error {
	// The name is never freed: SQLite keeps it for as long as the VFS is
	// registered, which is until the process ends.
	if rc := C.walbuf_register(C.CString(walbufVFS)); rc != 0 {
		return fmt.Errorf("sqlite: registering VFS %s: code %d", walbufVFS, int(rc))
	}
	return nil
}
