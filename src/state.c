// SPDX-License-Identifier: MIT
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/xmlwriter.h>

#include "log.h"
#include "util.h"
#include "xmlutil.h"

static const char *const state_names[] = {"free", "reserved", "attached", "paused"};
static const char *const origin_names[] = {"", "hook", "cli"};

const char *esfm_vf_state_name(enum esfm_vf_state s)
{
	return (unsigned)s < ESFM_ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

const char *esfm_vf_origin_name(enum esfm_vf_origin o)
{
	return (unsigned)o < ESFM_ARRAY_SIZE(origin_names) ? origin_names[o] : "?";
}

/*
 * Whoever can write the state directory can forge who holds which VF: it
 * must belong to root (or to the user running esfm) and be writable by no
 * one else. Returns an fd of the directory, or -1 with @err filled.
 */
static int state_dir_open(const char *state_dir, bool create, struct esfm_err *err)
{
	struct stat st;
	int fd;

	if (create && mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return esfm_err_sys(err, errno, "cannot create state directory %s", state_dir);
	fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
		esfm_err_set(err, ESFM_ERR_CONFIG, ENOTDIR, "state directory %s is not a directory",
			     state_dir);
		return esfm_err_hint(err, "remove it or set state_dir in esfm.conf");
	}
	if (fd < 0)
		return esfm_err_sys(err, errno, "cannot open state directory %s", state_dir);
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return esfm_err_sys(err, e, "cannot stat state directory %s", state_dir);
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		close(fd);
		esfm_err_set(err, ESFM_ERR_CONFIG, 0,
			     "state directory %s is unsafe: owner uid %u, mode %04o", state_dir,
			     (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return esfm_err_hint(err, "make it root's, not writable by group or others "
					  "(chown root: and chmod 0700), or set state_dir in "
					  "esfm.conf");
	}
	return fd;
}

int esfm_state_dir_ensure(const char *state_dir, struct esfm_err *err)
{
	int fd = state_dir_open(state_dir, true, err);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int state_path(const char *dir, const char *pool, const char *ext, char *buf, size_t len,
		      struct esfm_err *err)
{
	if (!esfm_name_valid(pool))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "invalid pool name '%.80s'", pool);
	return esfm_snprintf(buf, len, err, "%s/%s.%s", dir, pool, ext);
}

static void read_holder(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static void write_holder(int fd, const char *who)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s (pid %ld)\n", who, (long)getpid());

	if (ftruncate(fd, 0) == 0 && n > 0)
		(void)!pwrite(fd, buf, (size_t)n, 0);
}

int esfm_state_lock(const char *state_dir, const char *pool, const char *who, long timeout_ms,
		    struct esfm_state_lock *lock, struct esfm_err *err)
{
	long long deadline = esfm_now_ms() + timeout_ms;
	char path[PATH_MAX], holder[256];
	_cleanup_close_ int dfd = -1;
	int fd;

	lock->fd = -1;
	if (state_path(state_dir, pool, "lock", path, sizeof(path), err) < 0 ||
	    (dfd = state_dir_open(state_dir, true, err)) < 0)
		return -1;
	fd = esfm_open_regular_at(dfd, strrchr(path, '/') + 1, path, O_RDWR | O_CREAT, err);
	if (fd < 0)
		return esfm_err_prefix(err, "lock file");
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = errno;
			close(fd);
			return esfm_err_sys(err, e, "cannot lock %s", path);
		}
		if (esfm_now_ms() >= deadline) {
			read_holder(fd, holder, sizeof(holder));
			close(fd);
			if (holder[0])
				esfm_err_set(err, ESFM_ERR_BUSY, 0, "pool '%s' is in use by %s",
					     pool, holder);
			else
				esfm_err_set(err, ESFM_ERR_BUSY, 0,
					     "pool '%s' is in use by another esfm command", pool);
			return esfm_err_hint(err, "try again when it is done");
		}
		esfm_sleep_ms(20);
	}
	write_holder(fd, who);
	lock->fd = fd;
	snprintf(lock->pool, sizeof(lock->pool), "%s", pool);
	return 0;
}

void esfm_state_unlock(struct esfm_state_lock *lock)
{
	if (lock->fd < 0)
		return;
	if (ftruncate(lock->fd, 0) < 0)
		esfm_debug("cannot clear lock holder of pool '%s'", lock->pool);
	flock(lock->fd, LOCK_UN);
	close(lock->fd);
	lock->fd = -1;
}

void esfm_state_clear(struct esfm_pool_state *st)
{
	free(st->vfs);
	free(st->journal.taken);
	memset(st, 0, sizeof(*st));
}

int esfm_journal_add(struct esfm_journal *j, const struct esfm_journal_taken *t,
		     struct esfm_err *err)
{
	struct esfm_journal_taken *n = realloc(j->taken, (j->ntaken + 1) * sizeof(*n));

	if (!n)
		return esfm_err_sys(err, ENOMEM, "cannot grow the journal");
	j->taken = n;
	j->taken[j->ntaken++] = *t;
	return 0;
}

void esfm_journal_clear(struct esfm_journal *j)
{
	free(j->taken);
	memset(j, 0, sizeof(*j));
}

static enum esfm_vf_state parse_state_name(const char *s, bool *ok)
{
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(state_names); i++)
		if (!strcmp(s, state_names[i])) {
			*ok = true;
			return (enum esfm_vf_state)i;
		}
	*ok = false;
	return ESFM_VF_FREE;
}

static enum esfm_vf_origin parse_origin_name(const char *s)
{
	for (size_t i = 1; i < ESFM_ARRAY_SIZE(origin_names); i++)
		if (!strcmp(s, origin_names[i]))
			return (enum esfm_vf_origin)i;
	return ESFM_ORIGIN_NONE;
}

/*
 * The ledger is read as a stream (SAX2), not into a tree: at every prepare a
 * tree of some 2,000 attribute nodes was built for one pass over it. An
 * element is seen once, at its start tag, with its attributes.
 */
struct element {
	const xmlChar **attrs; /* as startElementNs hands them: 5 pointers each */
	int nattrs;
	long line;
};

static int prop(const struct element *el, const char *name, char *buf, size_t len)
{
	return esfm_xml_sax_attr(el->attrs, el->nattrs, name, buf, len);
}

static int parse_slot(const struct element *n, struct esfm_vf_slot *s, const char *path,
		      struct esfm_err *err)
{
	char v[128], state[32];
	unsigned idx;
	char *end;
	bool ok;

	memset(s, 0, sizeof(*s));
	prop(n, "index", v, sizeof(v));
	if (!esfm_parse_uint(v, 65535, false, &idx))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid vf index '%s'", path,
				    n->line, v);
	s->index = idx;
	prop(n, "address", v, sizeof(v));
	if (esfm_pci_addr_parse(v, &s->addr, err) < 0)
		return esfm_err_prefix(err, "%s:%ld", path, n->line);
	prop(n, "state", state, sizeof(state));
	s->state = parse_state_name(state, &ok);
	if (!ok)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid vf state '%s'", path,
				    n->line, state);
	if (prop(n, "origin", v, sizeof(v)) != 0) {
		s->origin = parse_origin_name(v);
		if (s->origin == ESFM_ORIGIN_NONE)
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					    "%s:%ld: invalid vf origin '%s'", path, n->line, v);
	}
	prop(n, "uuid", s->uuid, sizeof(s->uuid));
	prop(n, "name", s->name, sizeof(s->name));
	prop(n, "alias", s->alias, sizeof(s->alias));
	prop(n, "last-uuid", s->last_uuid, sizeof(s->last_uuid));
	if (prop(n, "since", v, sizeof(v)) != 0) {
		errno = 0;
		s->since = strtoll(v, &end, 10);
		if (errno || end == v || *end || s->since < 0)
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid since '%s'",
					    path, n->line, v);
	}
	if (prop(n, "worker-pid", v, sizeof(v)) != 0) {
		errno = 0;
		s->worker_pid = strtol(v, &end, 10);
		if (errno || end == v || *end || s->worker_pid <= 0)
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					    "%s:%ld: invalid worker-pid '%s'", path, n->line, v);
		prop(n, "worker-start", v, sizeof(v));
		s->worker_start = strtoull(v, NULL, 10);
	}
	if (s->state != ESFM_VF_FREE && !s->uuid[0])
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: vf %u is %s but has no owner",
				    path, n->line, idx, state);
	return 0;
}

static int parse_busy(const struct element *n, const char *path, struct esfm_busy_mark *b,
		      struct esfm_err *err)
{
	char v[64], *end;

	prop(n, "pid", v, sizeof(v));
	errno = 0;
	b->pid = strtol(v, &end, 10);
	if (errno || end == v || *end || b->pid <= 0)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid busy pid '%s'", path,
				    n->line, v);
	prop(n, "start", v, sizeof(v));
	b->start = strtoull(v, NULL, 10);
	prop(n, "since", v, sizeof(v));
	b->since = strtoll(v, NULL, 10);
	prop(n, "what", b->what, sizeof(b->what));
	return 0;
}

static int parse_journal(const struct element *n, const char *path, struct esfm_journal *j,
			 struct esfm_err *err)
{
	char v[64];

	j->active = true;
	prop(n, "old", v, sizeof(v));
	if (!esfm_parse_uint(v, 65535, false, &j->old_count))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid journal old '%s'",
				    path, n->line, v);
	prop(n, "new", v, sizeof(v));
	if (!esfm_parse_uint(v, 65535, false, &j->new_count))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid journal new '%s'",
				    path, n->line, v);
	prop(n, "numvfs", v, sizeof(v));
	j->numvfs = !strcmp(v, "changing");
	prop(n, "pf", v, sizeof(v));
	j->pf_removed = !strcmp(v, "removed");
	return 0;
}

static int parse_taken(const struct element *c, const char *path, struct esfm_journal *j,
		       struct esfm_err *err)
{
	struct esfm_journal_taken t = {0};
	char v[64];

	prop(c, "index", v, sizeof(v));
	if (!esfm_parse_uint(v, 65535, false, &t.index))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: invalid journal index '%s'",
				    path, c->line, v);
	prop(c, "how", v, sizeof(v));
	t.paused = !strcmp(v, "paused");
	prop(c, "uuid", t.uuid, sizeof(t.uuid));
	prop(c, "vm", t.vm, sizeof(t.vm));
	prop(c, "alias", t.alias, sizeof(t.alias));
	return esfm_journal_add(j, &t, err);
}

static int parse_root(const struct element *root, const char *path, struct esfm_pool_state *st,
		      struct esfm_err *err)
{
	char v[64];

	prop(root, "pf", v, sizeof(v));
	if (esfm_pci_addr_parse(v, &st->pf, err) < 0)
		return esfm_err_prefix(err, "%s", path);
	if (prop(root, "generation", v, sizeof(v)) != 0) {
		char *end;

		errno = 0;
		st->generation = strtoul(v, &end, 10);
		if (errno || end == v || *end || v[0] == '-')
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s: invalid generation '%s'",
					    path, v);
	}
	return 0;
}

/*
 * The damage reported is the one a reader of the whole file would name
 * first: the root's, then the busy mark's, the journal's, then the first bad
 * vf. A well-formedness error anywhere wins over all of them.
 */
enum damage_rank { DAMAGE_ROOT, DAMAGE_BUSY, DAMAGE_JOURNAL, DAMAGE_VF, DAMAGE_NONE };

struct ledger_reader {
	struct esfm_xml_sax sax; /* first: the parser's _private points here */
	const char *path;
	struct esfm_pool_state *st;
	int depth;    /* elements open */
	bool foreign; /* the root is not <esfm-state> */
	bool seen_bitstream, seen_busy, seen_journal;
	int journal_depth; /* depth of the first <journal> while it is open, else 0 */
	size_t cap;	   /* slots allocated in st->vfs */
	enum damage_rank rank;
	struct esfm_err damage;
};

static void damaged(struct ledger_reader *r, enum damage_rank rank, const struct esfm_err *err)
{
	if (rank < r->rank) {
		r->rank = rank;
		r->damage = *err;
	}
}

static int add_slot(struct ledger_reader *r, const struct element *el, struct esfm_err *err)
{
	struct esfm_pool_state *st = r->st;
	size_t n = st->nvfs;

	if (n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct esfm_vf_slot *v = realloc(st->vfs, cap * sizeof(*v));

		if (!v)
			return esfm_err_sys(err, ENOMEM, "cannot load %s", r->path);
		st->vfs = v;
		r->cap = cap;
	}
	st->nvfs++;
	if (parse_slot(el, &st->vfs[n], r->path, err) < 0)
		return -1;
	if (st->vfs[n].index != n)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "%s: vf entries out of order (index %u at position %zu)",
				    r->path, st->vfs[n].index, n);
	return 0;
}

static void ledger_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
			 const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
			 int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	struct ledger_reader *r = ((xmlParserCtxtPtr)ctx)->_private;
	const struct element el = {attributes, nb_attributes, esfm_xml_sax_line(ctx)};
	/* An unbound prefix: libxml2's tree names it "prefix:name", which is no name we read. */
	const char *name = prefix && !uri ? "" : (const char *)localname;
	int depth = r->depth++;
	struct esfm_err err; /* filled by whatever fails; read only then */
	char v[64];

	(void)nb_namespaces;
	(void)namespaces;
	(void)nb_defaulted; /* none: there is no DTD */
	if (r->foreign)
		return;
	if (depth == 0) {
		if (strcmp(name, "esfm-state")) {
			r->foreign = true;
			esfm_err_set(&err, ESFM_ERR_CONFIG, 0, "%s: not an esfm state file",
				     r->path);
			damaged(r, DAMAGE_ROOT, &err);
		} else if (parse_root(&el, r->path, r->st, &err) < 0) {
			damaged(r, DAMAGE_ROOT, &err);
		}
	} else if (depth == 1 && !strcmp(name, "vf")) {
		if (add_slot(r, &el, &err) < 0)
			damaged(r, DAMAGE_VF, &err);
	} else if (depth == 1 && !strcmp(name, "bitstream") && !r->seen_bitstream) {
		r->seen_bitstream = true;
		prop(&el, "path", r->st->bitstream, sizeof(r->st->bitstream));
		prop(&el, "kind", r->st->bitstream_kind, sizeof(r->st->bitstream_kind));
		prop(&el, "flashed-at", v, sizeof(v));
		r->st->flashed_at = strtoll(v, NULL, 10);
	} else if (depth == 1 && !strcmp(name, "busy") && !r->seen_busy) {
		r->seen_busy = true;
		if (parse_busy(&el, r->path, &r->st->busy, &err) < 0)
			damaged(r, DAMAGE_BUSY, &err);
	} else if (depth == 1 && !strcmp(name, "journal") && !r->seen_journal) {
		r->seen_journal = true;
		r->journal_depth = 1;
		if (parse_journal(&el, r->path, &r->st->journal, &err) < 0)
			damaged(r, DAMAGE_JOURNAL, &err);
	} else if (depth == 2 && r->journal_depth && !strcmp(name, "taken")) {
		if (parse_taken(&el, r->path, &r->st->journal, &err) < 0)
			damaged(r, DAMAGE_JOURNAL, &err);
	}
}

static void ledger_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
		       const xmlChar *uri)
{
	struct ledger_reader *r = ((xmlParserCtxtPtr)ctx)->_private;

	(void)localname;
	(void)prefix;
	(void)uri;
	if (--r->depth == r->journal_depth)
		r->journal_depth = 0;
}

int esfm_state_load(const char *state_dir, const char *pool, struct esfm_pool_state *st,
		    struct esfm_err *err)
{
	_cleanup_free_ char *text = NULL;
	char path[PATH_MAX];
	_cleanup_close_ int dfd = -1;
	size_t len;

	memset(st, 0, sizeof(*st));
	if (state_path(state_dir, pool, "state", path, sizeof(path), err) < 0)
		return -1;
	snprintf(st->pool, sizeof(st->pool), "%s", pool);
	dfd = state_dir_open(state_dir, false, err);
	if (dfd < 0 && err->errnum == ENOENT) {
		esfm_err_clear(err);
		return 0;
	}
	if (dfd < 0 ||
	    esfm_read_file_at(dfd, strrchr(path, '/') + 1, path, 16 << 20, &text, &len, err) < 0) {
		if (err->cls == ESFM_ERR_NOTFOUND) {
			esfm_err_clear(err);
			return 0;
		}
		return -1;
	}
	return esfm_state_parse(text, len, path, pool, st, err);
}

int esfm_state_parse(const char *text, size_t len, const char *path, const char *pool,
		     struct esfm_pool_state *st, struct esfm_err *err)
{
	struct ledger_reader r = {
		.sax = {.start = ledger_start, .end = ledger_end},
		.path = path,
		.st = st,
		.rank = DAMAGE_NONE,
	};
	int bad;

	memset(st, 0, sizeof(*st));
	snprintf(st->pool, sizeof(st->pool), "%s", pool);
	bad = esfm_xml_sax_parse(text, len, path, &r.sax, err);

	if (bad == 0 && r.rank != DAMAGE_NONE) {
		*err = r.damage;
		bad = -1;
	}
	if (bad < 0) {
		esfm_state_clear(st);
		snprintf(st->pool, sizeof(st->pool), "%s", pool);
		return esfm_err_hint(err,
				     "the file is damaged; inspect it, then fix or remove it once "
				     "no VM uses pool '%s'",
				     pool);
	}
	if (!st->nvfs) {
		free(st->vfs);
		st->vfs = NULL;
	}
	return 0;
}

/*
 * The ledger is written with libxml2's streaming writer: at every prepare a
 * tree of some 2,000 attribute nodes was built only to be serialised once.
 */
static int attr(xmlTextWriterPtr w, const char *name, const char *v)
{
	return xmlTextWriterWriteAttribute(w, BAD_CAST name, BAD_CAST v) < 0 ? -1 : 0;
}

static int attr_fmt(xmlTextWriterPtr w, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int attr_fmt(xmlTextWriterPtr w, const char *name, const char *fmt, ...)
{
	char v[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	return attr(w, name, v);
}

static int start(xmlTextWriterPtr w, const char *name)
{
	return xmlTextWriterStartElement(w, BAD_CAST name) < 0 ? -1 : 0;
}

static int end(xmlTextWriterPtr w)
{
	return xmlTextWriterEndElement(w) < 0 ? -1 : 0;
}

static int slot_to_xml(xmlTextWriterPtr w, const struct esfm_vf_slot *s)
{
	char a[ESFM_PCI_ADDR_STRLEN];

	if (start(w, "vf") < 0 || attr_fmt(w, "index", "%u", s->index) < 0 ||
	    attr(w, "address", esfm_pci_addr_str(&s->addr, a)) < 0 ||
	    attr(w, "state", esfm_vf_state_name(s->state)) < 0)
		return -1;
	if (s->origin != ESFM_ORIGIN_NONE && attr(w, "origin", esfm_vf_origin_name(s->origin)) < 0)
		return -1;
	if ((s->uuid[0] && attr(w, "uuid", s->uuid) < 0) ||
	    (s->name[0] && attr(w, "name", s->name) < 0) ||
	    (s->alias[0] && attr(w, "alias", s->alias) < 0) ||
	    (s->last_uuid[0] && attr(w, "last-uuid", s->last_uuid) < 0))
		return -1;
	if (s->worker_pid && (attr_fmt(w, "worker-pid", "%ld", s->worker_pid) < 0 ||
			      attr_fmt(w, "worker-start", "%llu", s->worker_start) < 0))
		return -1;
	if (attr_fmt(w, "since", "%lld", s->since) < 0)
		return -1;
	return end(w);
}

static int journal_to_xml(xmlTextWriterPtr w, const struct esfm_journal *j)
{
	if (start(w, "journal") < 0 || attr_fmt(w, "old", "%u", j->old_count) < 0 ||
	    attr_fmt(w, "new", "%u", j->new_count) < 0 ||
	    attr(w, "numvfs", j->numvfs ? "changing" : "kept") < 0 ||
	    (j->pf_removed && attr(w, "pf", "removed") < 0))
		return -1;
	for (size_t i = 0; i < j->ntaken; i++) {
		const struct esfm_journal_taken *t = &j->taken[i];

		if (start(w, "taken") < 0 || attr_fmt(w, "index", "%u", t->index) < 0 ||
		    attr(w, "how", t->paused ? "paused" : "unplugged") < 0 ||
		    attr(w, "uuid", t->uuid) < 0 || attr(w, "vm", t->vm) < 0 ||
		    attr(w, "alias", t->alias) < 0 || end(w) < 0)
			return -1;
	}
	return end(w);
}

/* The whole ledger as XML text in @buf. */
static int state_to_xml(xmlBufferPtr buf, const struct esfm_pool_state *st)
{
	xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
	char a[ESFM_PCI_ADDR_STRLEN];
	int r = -1;

	if (!w || xmlTextWriterSetIndent(w, 1) < 0 ||
	    xmlTextWriterSetIndentString(w, BAD_CAST "  ") < 0 ||
	    xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) < 0 || start(w, "esfm-state") < 0 ||
	    attr(w, "version", "1") < 0 || attr(w, "pool", st->pool) < 0 ||
	    attr(w, "pf", esfm_pci_addr_str(&st->pf, a)) < 0 ||
	    attr_fmt(w, "generation", "%lu", st->generation) < 0)
		goto out;
	if (st->bitstream[0] &&
	    (start(w, "bitstream") < 0 || attr(w, "path", st->bitstream) < 0 ||
	     (st->bitstream_kind[0] && attr(w, "kind", st->bitstream_kind) < 0) ||
	     attr_fmt(w, "flashed-at", "%lld", st->flashed_at) < 0 || end(w) < 0))
		goto out;
	if (st->busy.pid && (start(w, "busy") < 0 || attr_fmt(w, "pid", "%ld", st->busy.pid) < 0 ||
			     attr_fmt(w, "start", "%llu", st->busy.start) < 0 ||
			     attr(w, "what", st->busy.what) < 0 ||
			     attr_fmt(w, "since", "%lld", st->busy.since) < 0 || end(w) < 0))
		goto out;
	if (st->journal.active && journal_to_xml(w, &st->journal) < 0)
		goto out;
	for (size_t i = 0; i < st->nvfs; i++)
		if (slot_to_xml(w, &st->vfs[i]) < 0)
			goto out;
	if (xmlTextWriterEndDocument(w) < 0)
		goto out;
	r = 0;
out:
	xmlFreeTextWriter(w); /* flushes into @buf */
	return r;
}

/* Temp files of writers that died before their rename; safe to drop under the lock. */
static void remove_stale_temps(const char *state_dir, const char *pool)
{
	char prefix[ESFM_NAME_MAX + 16];
	struct dirent *de;
	DIR *d = opendir(state_dir);

	if (!d)
		return;
	snprintf(prefix, sizeof(prefix), "%s.state.tmp.", pool);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

int esfm_state_save(const char *state_dir, struct esfm_pool_state *st, struct esfm_err *err)
{
	xmlBufferPtr buf = NULL;
	char path[PATH_MAX];
	_cleanup_close_ int dfd = -1;
	int r;

	if (state_path(state_dir, st->pool, "state", path, sizeof(path), err) < 0)
		return -1;
	remove_stale_temps(state_dir, st->pool);
	st->generation++;
	buf = xmlBufferCreate();
	if (!buf || state_to_xml(buf, st) < 0) {
		xmlBufferFree(buf);
		return esfm_err_sys(err, ENOMEM, "cannot build %s", path);
	}
	dfd = state_dir_open(state_dir, false, err);
	r = dfd < 0 ? -1
		    : esfm_write_file_atomic_at(dfd, strrchr(path, '/') + 1, path,
						(const char *)xmlBufferContent(buf),
						(size_t)xmlBufferLength(buf), err);
	xmlBufferFree(buf);
	if (r == 0)
		esfm_debug("pool '%s': state saved (generation %lu)", st->pool, st->generation);
	return r;
}

int esfm_state_resize(struct esfm_pool_state *st, size_t n, struct esfm_err *err)
{
	struct esfm_vf_slot *nv;

	for (size_t i = n; i < st->nvfs; i++)
		if (st->vfs[i].state != ESFM_VF_FREE) {
			esfm_err_set(err, ESFM_ERR_BUSY, 0, "pool '%s': VF %zu is %s by '%s'",
				     st->pool, i, esfm_vf_state_name(st->vfs[i].state),
				     st->vfs[i].name);
			return esfm_err_hint(err, "detach it or stop that VM first");
		}
	if (n == st->nvfs)
		return 0;
	if (n == 0) {
		free(st->vfs);
		st->vfs = NULL;
		st->nvfs = 0;
		return 0;
	}
	nv = realloc(st->vfs, n * sizeof(*nv));
	if (!nv)
		return esfm_err_sys(err, ENOMEM, "cannot grow the state of pool '%s'", st->pool);
	for (size_t i = st->nvfs; i < n; i++) {
		memset(&nv[i], 0, sizeof(nv[i]));
		nv[i].index = (unsigned)i;
		nv[i].since = time(NULL);
	}
	st->vfs = nv;
	st->nvfs = n;
	return 0;
}

void esfm_state_set_free(struct esfm_vf_slot *s)
{
	if (s->uuid[0])
		snprintf(s->last_uuid, sizeof(s->last_uuid), "%s", s->uuid);
	s->state = ESFM_VF_FREE;
	s->origin = ESFM_ORIGIN_NONE;
	s->uuid[0] = s->name[0] = s->alias[0] = '\0';
	s->worker_pid = 0;
	s->worker_start = 0;
	s->since = time(NULL);
}

void esfm_state_set_owner(struct esfm_vf_slot *s, enum esfm_vf_state state,
			  enum esfm_vf_origin origin, const char *uuid, const char *name,
			  const char *alias)
{
	s->state = state;
	s->origin = origin;
	snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->alias, sizeof(s->alias), "%s", alias ? alias : "");
	s->worker_pid = 0;
	s->worker_start = 0;
	s->since = time(NULL);
}

size_t esfm_state_count_used(const struct esfm_pool_state *st)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nvfs; i++)
		n += st->vfs[i].state != ESFM_VF_FREE;
	return n;
}
