// SPDX-License-Identifier: MIT
#include "pool.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/relaxng.h>
#include <libxml/tree.h>

#include "util.h"
#include "verdict.h"
#include "xmlutil.h"

struct rng_errors {
	char first[512];
	long line;
	char elem[64]; /* element named by the message, to find a line when libxml2 gives none */
};

static void rng_error(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

static void rng_structured(void *ctx, xmlErrorPtr e)
{
	struct rng_errors *r = ctx;

	long line;

	if (r->first[0] || !e || !e->message)
		return;
	const char *el;

	line = e->line;
	if (!line && e->node)
		line = xmlGetLineNo((xmlNodePtr)e->node);
	r->line = line;
	snprintf(r->first, sizeof(r->first), "%s", e->message);
	if ((el = strstr(e->message, "element ")))
		sscanf(el + 8, "%63[A-Za-z0-9_-]", r->elem);
	for (size_t n = strlen(r->first); n && r->first[n - 1] == '\n'; n--)
		r->first[n - 1] = '\0';
}

/* The schema compiled last, and the text it was compiled from (a verdict is for those bytes). */
static xmlRelaxNGPtr cached_rng;
static char *cached_text;
static size_t cached_len;

/* Compile @text, the schema read from @schema, unless that is done: once per process. */
static int compile_schema(const char *schema, const char *text, size_t len, struct esfm_err *err)
{
	xmlRelaxNGParserCtxtPtr pctxt;
	xmlRelaxNGPtr rng;
	char *copy;

	if (cached_rng && cached_len == len && !memcmp(cached_text, text, len))
		return 0;
	copy = malloc(len + 1);
	if (!copy)
		return esfm_err_sys(err, ENOMEM, "cannot load schema %s", schema);
	memcpy(copy, text, len);
	/* From memory: libxml2's file reader probes every file for gzip and xz. */
	pctxt = xmlRelaxNGNewMemParserCtxt(text, (int)len);
	if (!pctxt) {
		free(copy);
		return esfm_err_sys(err, ENOMEM, "cannot load schema %s", schema);
	}
	xmlRelaxNGSetParserErrors(pctxt, rng_error, rng_error, NULL);
	rng = xmlRelaxNGParse(pctxt);
	xmlRelaxNGFreeParserCtxt(pctxt);
	if (!rng) {
		free(copy);
		esfm_err_set(err, ESFM_ERR_CONFIG, 0, "cannot load the pool schema %s", schema);
		return esfm_err_hint(err, "check template_dir in esfm.conf and the installation");
	}
	if (cached_rng)
		xmlRelaxNGFree(cached_rng);
	cached_rng = rng;
	free(cached_text);
	cached_text = copy;
	cached_len = len;
	return 0;
}

static const char *file_stem(const char *path, char *buf, size_t len);

/*
 * The pool file @text (@doc parsed) against the schema. A verdict the state
 * directory remembers for the same bytes stands (verdict.h): the hook does
 * not compile the schema at every VM start.
 */
static int validate(const struct esfm_conf *conf, const char *path, const char *text, size_t len,
		    xmlDocPtr doc, struct esfm_err *err)
{
	char schema[PATH_MAX], stem[ESFM_NAME_MAX + 8];
	_cleanup_free_ char *rng_text = NULL;
	struct esfm_verdict_of v;
	struct esfm_err e = {0};
	struct rng_errors errs;
	xmlRelaxNGValidCtxtPtr vctxt;
	size_t rng_len;
	int r;

	memset(&errs, 0, sizeof(errs));
	if (esfm_snprintf(schema, sizeof(schema), err, "%s/pool.rng", conf->template_dir) < 0)
		return -1;
	if (esfm_read_file(schema, 1 << 20, &rng_text, &rng_len, &e) < 0) {
		esfm_err_set(err, ESFM_ERR_CONFIG, e.errnum, "cannot read the pool schema %s",
			     schema);
		return esfm_err_hint(err, "check template_dir in esfm.conf and the installation");
	}
	v = (struct esfm_verdict_of){
		.state_dir = conf->state_dir,
		.pool = file_stem(path, stem, sizeof(stem)),
		.path = path,
		.schema = rng_text,
		.schema_len = rng_len,
		.text = text,
		.text_len = len,
	};
	if (esfm_verdict_known(&v))
		return 0;
	if (compile_schema(schema, rng_text, rng_len, err) < 0)
		return -1;
	vctxt = xmlRelaxNGNewValidCtxt(cached_rng);
	if (!vctxt)
		return esfm_err_sys(err, ENOMEM, "cannot validate %s", path);
	xmlRelaxNGSetValidStructuredErrors(vctxt, rng_structured, &errs);
	r = xmlRelaxNGValidateDoc(vctxt, doc);
	xmlRelaxNGFreeValidCtxt(vctxt);
	if (r != 0) {
		/* Interleave errors come without a line: use the named element's last occurrence. */
		for (xmlNodePtr n = xmlDocGetRootElement(doc); !errs.line && n && errs.elem[0];
		     n = NULL)
			for (xmlNodePtr c = esfm_xml_child(n, errs.elem); c;
			     c = esfm_xml_next(c, errs.elem))
				errs.line = xmlGetLineNo(c);
		if (!errs.line)
			errs.line = xmlGetLineNo(xmlDocGetRootElement(doc));
		esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%ld: %s", path, errs.line,
			     errs.first[0] ? errs.first : "does not match the pool schema");
		return esfm_err_hint(err, "see esfm-pool(5) for the pool format");
	}
	esfm_verdict_remember(&v);
	return 0;
}

static const char *file_stem(const char *path, char *buf, size_t len)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ".xml"))
		n -= 4;
	if (n >= len)
		n = len - 1;
	memcpy(buf, base, n);
	buf[n] = '\0';
	return buf;
}

static void set_pool_defaults(struct esfm_pool *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->driver, sizeof(p->driver), "vfio-pci");
	snprintf(p->vm_base, sizeof(p->vm_base), ESFM_DEFAULT_VM_BASE);
}

/* <nova flavor= count=/> elements: the schema checked their shape, not their number or repeats. */
static int extract_flavors(const char *path, xmlNodePtr root, struct esfm_pool *p,
			   struct esfm_err *err)
{
	char v[32];

	for (xmlNodePtr n = esfm_xml_child(root, "nova"); n; n = esfm_xml_next(n, "nova")) {
		struct esfm_pool_flavor *f;

		if (p->nflavor == ESFM_POOL_NOVA_MAX)
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					    "%s:%ld: more than %d <nova> flavors", path,
					    xmlGetLineNo(n), ESFM_POOL_NOVA_MAX);
		f = &p->flavor[p->nflavor];
		esfm_xml_prop(n, "flavor", f->name, sizeof(f->name));
		f->count = 1;
		if (esfm_xml_prop(n, "count", v, sizeof(v)) > 0 &&
		    !esfm_parse_uint(v, 64, false, &f->count))
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					    "%s:%ld: invalid <nova count='%s'>", path,
					    xmlGetLineNo(n), v);
		for (size_t i = 0; i < p->nflavor; i++)
			if (!strcmp(p->flavor[i].name, f->name))
				return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
						    "%s:%ld: flavor '%s' is mapped twice", path,
						    xmlGetLineNo(n), f->name);
		if (!f->name[0])
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					    "%s:%ld: <nova> without a flavor", path,
					    xmlGetLineNo(n));
		p->nflavor++;
	}
	return 0;
}

static int extract(const char *path, xmlNodePtr root, struct esfm_pool *p, struct esfm_err *err)
{
	xmlNodePtr n;
	char v[PATH_MAX];
	xmlChar *name;

	name = xmlNodeGetContent(esfm_xml_child(root, "name"));
	snprintf(p->name, sizeof(p->name), "%s", name ? (const char *)name : "");
	xmlFree(name);
	esfm_xml_prop(esfm_xml_child(esfm_xml_child(root, "source"), "pf"), "address", v,
		      sizeof(v));
	if (esfm_pci_addr_parse(v, &p->pf, err) < 0)
		return esfm_err_prefix(err, "%s: <pf address>", path);
	n = esfm_xml_child(root, "vfs");
	esfm_xml_prop(n, "count", v, sizeof(v));
	if (!esfm_parse_uint(v, 2048, false, &p->count) || p->count == 0)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s: invalid <vfs count='%s'>", path,
				    v);
	if (esfm_xml_prop(n, "driver", v, sizeof(v)) > 0 &&
	    esfm_snprintf(p->driver, sizeof(p->driver), err, "%s", v) < 0)
		return -1;
	if ((n = esfm_xml_child(root, "qdma"))) {
		esfm_xml_prop(n, "qmax", v, sizeof(v));
		if (!esfm_parse_uint(v, 2048, false, &p->qmax))
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s: invalid <qdma qmax='%s'>",
					    path, v);
		p->has_qmax = true;
	}
	if ((n = esfm_xml_child(root, "bitstream"))) {
		esfm_xml_prop(n, "path", p->bitstream, sizeof(p->bitstream));
		esfm_xml_prop(n, "kind", p->bitstream_kind, sizeof(p->bitstream_kind));
	}
	if ((n = esfm_xml_child(root, "jtag")))
		esfm_xml_prop(n, "target", p->jtag_target, sizeof(p->jtag_target));
	if ((n = esfm_xml_child(root, "vms")))
		esfm_xml_prop(n, "base", p->vm_base, sizeof(p->vm_base));
	if ((n = esfm_xml_child(root, "reconf"))) {
		esfm_xml_prop(n, "pause", v, sizeof(v));
		p->pause = !strcmp(v, "yes");
	}
	return extract_flavors(path, root, p, err);
}

int esfm_pool_load_file(const struct esfm_conf *conf, const char *path, struct esfm_pool *pool,
			struct esfm_err *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	set_pool_defaults(pool);
	if (esfm_read_file(path, 1 << 20, &text, &len, err) < 0)
		return -1;
	return esfm_pool_parse(conf, path, text, len, pool, err);
}

int esfm_pool_parse(const struct esfm_conf *conf, const char *path, const char *text, size_t len,
		    struct esfm_pool *pool, struct esfm_err *err)
{
	_cleanup_xmldoc_ xmlDocPtr doc = NULL;
	char stem[ESFM_NAME_MAX + 8];

	set_pool_defaults(pool);
	if (esfm_xml_read_memory(text, len, path, &doc, err) < 0 ||
	    validate(conf, path, text, len, doc, err) < 0 ||
	    extract(path, xmlDocGetRootElement(doc), pool, err) < 0)
		return -1;
	file_stem(path, stem, sizeof(stem));
	if (strcmp(stem, pool->name)) {
		esfm_err_set(err, ESFM_ERR_CONFIG, 0,
			     "%s: pool name '%s' differs from the file name", path, pool->name);
		return esfm_err_hint(err, "rename the file to %s.xml or change <name>", pool->name);
	}
	snprintf(pool->path, sizeof(pool->path), "%s", path);
	return 0;
}

int esfm_pool_load(const struct esfm_conf *conf, const char *name, struct esfm_pool *pool,
		   struct esfm_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX];

	if (!esfm_name_valid(name)) {
		esfm_err_set(err, ESFM_ERR_CONFIG, 0, "invalid pool name '%.80s'", name);
		return esfm_err_hint(err,
				     "pool names use letters, digits, '_', '.', '-' (1 to 64)");
	}
	if (esfm_conf_pools_dir(conf, dir, sizeof(dir), err) < 0 ||
	    esfm_snprintf(path, sizeof(path), err, "%s/%s.xml", dir, name) < 0)
		return -1;
	if (esfm_pool_load_file(conf, path, pool, err) < 0) {
		if (err->cls == ESFM_ERR_NOTFOUND) {
			esfm_err_set(err, ESFM_ERR_NOTFOUND, 0, "pool '%s' is not defined", name);
			return esfm_err_hint(err, "create %s (see esfm-pool(5)) or fix the name",
					     path);
		}
		return -1;
	}
	return 0;
}

static int cmp_pool(const void *a, const void *b)
{
	return strcmp(((const struct esfm_pool *)a)->name, ((const struct esfm_pool *)b)->name);
}

/* Device aliases spell '.' as '_' (libvirt's rule): two pools must not collide there. */
static bool same_alias_stem(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if ((*a == '.' ? '_' : *a) != (*b == '.' ? '_' : *b))
			return false;
	return *a == *b;
}

/* The one message for two pool files naming the same PF (pool-check and the hook). */
static int shared_pf(const struct esfm_pool *p, const struct esfm_pool *q, struct esfm_err *err)
{
	char a[ESFM_PCI_ADDR_STRLEN];

	if (strcmp(p->name, q->name) > 0) {
		const struct esfm_pool *t = p;

		p = q;
		q = t;
	}
	esfm_err_set(err, ESFM_ERR_CONFIG, 0, "pools '%s' and '%s' both use PF %s", p->name,
		     q->name, esfm_pci_addr_str(&p->pf, a));
	return esfm_err_hint(err, "a PF belongs to one pool; remove one of them");
}

int esfm_pool_check_pf_unique(const struct esfm_conf *conf, const struct esfm_pool *pool,
			      struct esfm_err *err)
{
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (esfm_conf_pools_dir(conf, dir, sizeof(dir), err) < 0)
		return -1;
	d = opendir(dir);
	if (!d)
		return 0;
	while (r == 0 && (de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char path[PATH_MAX];
		struct esfm_pool other;
		struct esfm_err ignored = {0};

		if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 4, ".xml") ||
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    !strcmp(path, pool->path))
			continue;
		/* A file that does not load names no PF for sure; pool-check reports it. */
		if (esfm_pool_load_file(conf, path, &other, &ignored) == 0 &&
		    !esfm_pci_addr_cmp(&other.pf, &pool->pf))
			r = shared_pf(pool, &other, err);
	}
	closedir(d);
	return r;
}

static int check_unique_pfs(const struct esfm_pool *pools, size_t n, struct esfm_err *err)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			if (same_alias_stem(pools[i].name, pools[j].name)) {
				esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					     "pools '%s' and '%s' would share device aliases",
					     pools[i].name, pools[j].name);
				return esfm_err_hint(
					err,
					"'.' and '_' are the same in aliases; rename one pool");
			}
			if (!esfm_pci_addr_cmp(&pools[i].pf, &pools[j].pf))
				return shared_pf(&pools[i], &pools[j], err);
		}
	return 0;
}

int esfm_pool_list(const struct esfm_conf *conf, struct esfm_pool **pools, size_t *n,
		   struct esfm_err *err)
{
	_cleanup_free_ struct esfm_pool *list = NULL;
	size_t count = 0, cap = 0;
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	*pools = NULL;
	*n = 0;
	if (esfm_conf_pools_dir(conf, dir, sizeof(dir), err) < 0)
		return -1;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return esfm_err_sys(err, errno, "cannot open %s", dir);
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char path[PATH_MAX];

		if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 4, ".xml"))
			continue;
		if (count == cap) {
			struct esfm_pool *nl;

			cap = cap ? cap * 2 : 8;
			nl = realloc(list, cap * sizeof(*list));
			if (!nl) {
				closedir(d);
				return esfm_err_sys(err, ENOMEM, "cannot list pools");
			}
			list = nl;
		}
		if (esfm_snprintf(path, sizeof(path), err, "%s/%s", dir, de->d_name) < 0 ||
		    esfm_pool_load_file(conf, path, &list[count], err) < 0) {
			closedir(d);
			return -1;
		}
		count++;
	}
	closedir(d);
	if (count)
		qsort(list, count, sizeof(*list), cmp_pool);
	if (check_unique_pfs(list, count, err) < 0)
		return -1;
	*pools = esfm_steal_ptr(&list);
	*n = count;
	return 0;
}

void esfm_pool_implicit_name(const struct esfm_pci_addr *pf, char buf[ESFM_NAME_MAX])
{
	snprintf(buf, ESFM_NAME_MAX, "pci_%04x_%02x_%02x_%x", (unsigned)pf->domain,
		 (unsigned)pf->bus, pf->dev & 0x1fu, pf->fn & 7u);
}

int esfm_pool_for_pf(const struct esfm_conf *conf, const struct esfm_pci_addr *pf,
		     struct esfm_pool *pool, struct esfm_err *err)
{
	_cleanup_free_ struct esfm_pool *pools = NULL;
	size_t n;

	if (esfm_pool_list(conf, &pools, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!esfm_pci_addr_cmp(&pools[i].pf, pf)) {
			*pool = pools[i];
			return 0;
		}
	set_pool_defaults(pool);
	esfm_pool_implicit_name(pf, pool->name);
	pool->pf = *pf;
	return 0;
}
