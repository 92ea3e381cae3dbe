// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Exported-symbol table. Module.symvers of a Debian kernel holds ~25,000 exports and
 * `verify --all` adds every module's exports, so lookups are one hash probe: open addressing
 * over entry indices, entries in fixed-size blocks so that pointers handed out stay valid.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "verify/modfile.h"
#include "verify/symvers.h"
#include "base/util.h"

#define BLOCK_ENTRIES 1024
#define ARENA_CHUNK   (64 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	char data[];
};

struct kmb_symtab {
	struct kmb_ksym **blocks;
	size_t n_blocks, n;
	uint32_t *slots;  /* entry index + 1; 0 = empty */
	uint32_t *hashes; /* low bits of each slot's name hash: most probes skip strcmp */
	size_t n_slots;	  /* power of two */
	struct arena_chunk *arena;
	/* Consecutive entries mostly share owner and path: copy each run once. */
	const char *last_owner, *last_path;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static const char *arena_dup(struct kmb_symtab *t, const char *s)
{
	size_t len;
	struct arena_chunk *c = t->arena;

	if (!s)
		return NULL;
	len = strlen(s) + 1;
	if (!c || c->cap - c->used < len) {
		size_t cap = len > ARENA_CHUNK ? len : ARENA_CHUNK;
		c = kmb_xmalloc(sizeof(*c) + cap);
		c->next = t->arena;
		c->used = 0;
		c->cap = cap;
		t->arena = c;
	}
	char *p = c->data + c->used;
	memcpy(p, s, len);
	c->used += len;
	return p;
}

struct kmb_symtab *kmb_symtab_new(void)
{
	struct kmb_symtab *t = kmb_xcalloc(1, sizeof(*t));

	t->n_slots = 1024;
	t->slots = kmb_xcalloc(t->n_slots, sizeof(*t->slots));
	t->hashes = kmb_xcalloc(t->n_slots, sizeof(*t->hashes));
	return t;
}

void kmb_symtab_free(struct kmb_symtab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_blocks; i++)
		free(t->blocks[i]);
	free(t->blocks);
	free(t->slots);
	free(t->hashes);
	while (t->arena) {
		struct arena_chunk *next = t->arena->next;
		free(t->arena);
		t->arena = next;
	}
	free(t);
}

size_t kmb_symtab_count(const struct kmb_symtab *t)
{
	return t->n;
}

static struct kmb_ksym *entry(const struct kmb_symtab *t, size_t i)
{
	return &t->blocks[i / BLOCK_ENTRIES][i % BLOCK_ENTRIES];
}

const struct kmb_ksym *kmb_symtab_next(const struct kmb_symtab *t, size_t *iter)
{
	if (*iter >= t->n)
		return NULL;
	return entry(t, (*iter)++);
}

/* Index of the slot holding name, or of the empty slot where it would go. */
static size_t find_slot(const struct kmb_symtab *t, const char *name, uint32_t h)
{
	size_t mask = t->n_slots - 1, i = h & mask;

	for (;;) {
		uint32_t v = t->slots[i];
		if (!v || (t->hashes[i] == h && strcmp(entry(t, v - 1)->name, name) == 0))
			return i;
		i = (i + 1) & mask;
	}
}

const struct kmb_ksym *kmb_symtab_find(const struct kmb_symtab *t, const char *name)
{
	uint32_t v = t->slots[find_slot(t, name, (uint32_t)hash_str(name))];

	return v ? entry(t, v - 1) : NULL;
}

static void rehash(struct kmb_symtab *t, size_t n_slots)
{
	uint32_t *old = t->slots, *old_h = t->hashes;
	size_t n_old = t->n_slots;

	t->n_slots = n_slots;
	t->slots = kmb_xcalloc(t->n_slots, sizeof(*t->slots));
	t->hashes = kmb_xcalloc(t->n_slots, sizeof(*t->hashes));
	for (size_t i = 0; i < n_old; i++) {
		if (!old[i])
			continue;
		size_t j = find_slot(t, entry(t, old[i] - 1)->name, old_h[i]);
		t->slots[j] = old[i];
		t->hashes[j] = old_h[i];
	}
	free(old);
	free(old_h);
}

static const char *dup_shared(struct kmb_symtab *t, const char *s, const char **last)
{
	if (!s)
		return NULL;
	if (!*last || strcmp(*last, s) != 0)
		*last = arena_dup(t, s);
	return *last;
}

static void fill(struct kmb_symtab *t, struct kmb_ksym *d, const struct kmb_ksym *s)
{
	d->name = arena_dup(t, s->name);
	d->owner = dup_shared(t, s->owner, &t->last_owner);
	d->path = dup_shared(t, s->path, &t->last_path);
	d->ns = s->ns && *s->ns ? arena_dup(t, s->ns) : NULL;
	d->crc = s->crc;
	d->has_crc = s->has_crc;
	d->gpl = s->gpl;
	d->gpl_known = s->gpl_known;
}

const struct kmb_ksym *kmb_symtab_add(struct kmb_symtab *t, const struct kmb_ksym *s, bool replace)
{
	uint32_t h = (uint32_t)hash_str(s->name);
	size_t si = find_slot(t, s->name, h);
	uint32_t *slot = &t->slots[si];
	struct kmb_ksym *e;

	if (*slot) {
		e = entry(t, *slot - 1);
		if (replace)
			fill(t, e, s);
		return e;
	}
	if (t->n % BLOCK_ENTRIES == 0) {
		t->blocks = kmb_xrealloc(t->blocks, (t->n_blocks + 1) * sizeof(*t->blocks));
		t->blocks[t->n_blocks++] = kmb_xmalloc(BLOCK_ENTRIES * sizeof(struct kmb_ksym));
	}
	e = entry(t, t->n);
	fill(t, e, s);
	*slot = (uint32_t)++t->n;
	t->hashes[si] = h;
	if (t->n * 2 > t->n_slots)
		rehash(t, t->n_slots * 2);
	return e;
}

static void presize(struct kmb_symtab *t, size_t more)
{
	size_t want;

	if (!t)
		return;
	for (want = t->n_slots; want < (t->n + more) * 2;)
		want *= 2;
	if (want != t->n_slots)
		rehash(t, want);
}

/* Split the next tab-separated field off *p (within the line); NULL when there is none. */
static char *field(char **p)
{
	char *s = *p, *tab;

	if (!s)
		return NULL;
	tab = strchr(s, '\t');
	if (tab) {
		*tab = '\0';
		*p = tab + 1;
	} else {
		*p = NULL;
	}
	return s;
}

int kmb_symvers_load(struct kmb_symtab *vmlinux, struct kmb_symtab *modules, const char *path,
		     char **err)
{
	return kmb_symvers_load_only(vmlinux, modules, path, NULL, err);
}

int kmb_symvers_load_only(struct kmb_symtab *vmlinux, struct kmb_symtab *modules, const char *path,
			  const struct kmb_symtab *want, char **err)
{
	char *data, *line, *next;
	size_t len, lineno = 0;
	int added = 0, rc;

	*err = NULL;
	rc = kmb_read_file(path, &data, &len);
	if (rc < 0) {
		*err = kmb_xasprintf("%s: %s", path, strerror(-rc));
		return rc;
	}
	/* Size the tables once (a line is ~70 bytes) instead of rehashing as they fill. */
	if (!want) {
		presize(vmlinux, len / 60);
		presize(modules, len / 60);
	}
	for (line = data; line && *line; line = next) {
		char *nl = memchr(line, '\n', len - (size_t)(line - data)), *p, *end;
		char *crc, *name, *mod, *type, *ns;
		char owner[256];

		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		if (!*line)
			continue;
		p = line;
		crc = field(&p);
		name = field(&p);
		/* Only a few names are wanted when checking a handful of modules: skip the rest
		 * before parsing anything else of the line. */
		if (want && name && !kmb_symtab_find(want, name))
			continue;
		mod = field(&p);
		type = field(&p);
		ns = field(&p);
		unsigned long v = crc ? strtoul(crc, &end, 16) : 0;
		if (!name || !*name || !mod || !type || !crc || end == crc || *end ||
		    v > UINT32_MAX) {
			*err = kmb_xasprintf("%s:%zu: malformed Module.symvers line", path, lineno);
			free(data);
			return -EBADMSG;
		}
		bool is_vmlinux = strcmp(mod, "vmlinux") == 0;
		struct kmb_symtab *t = is_vmlinux ? vmlinux : modules;
		added++;
		if (!t)
			continue;
		if (is_vmlinux)
			memcpy(owner, "vmlinux", sizeof("vmlinux"));
		else
			kmb_module_name_from_path(mod, owner, sizeof(owner));
		struct kmb_ksym s = {
			.name = name,
			.owner = owner,
			.path = is_vmlinux ? NULL : mod,
			.ns = ns,
			.crc = (uint32_t)v,
			.has_crc = true,
			.gpl = strcmp(type, "EXPORT_SYMBOL_GPL") == 0,
			.gpl_known = true,
		};
		kmb_symtab_add(t, &s, false);
	}
	free(data);
	return added;
}

int kmb_sysmap_load(struct kmb_symtab *t, const char *path, char **err)
{
	char *data, *line, *next;
	size_t len;
	int added = 0, rc;

	*err = NULL;
	rc = kmb_read_file(path, &data, &len);
	if (rc < 0) {
		*err = kmb_xasprintf("%s: %s", path, strerror(-rc));
		return rc;
	}
	for (line = data; line && *line; line = next) {
		char *nl = strchr(line, '\n');
		char *sym;

		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		/* "ffffffff82a1b2c0 r __ksymtab_printk" */
		sym = strrchr(line, ' ');
		if (!sym || !kmb_startswith(sym + 1, "__ksymtab_"))
			continue;
		sym += 1 + strlen("__ksymtab_");
		if (!*sym)
			continue;
		struct kmb_ksym s = {.name = sym, .owner = "vmlinux"};
		kmb_symtab_add(t, &s, false);
		added++;
	}
	free(data);
	if (added == 0) {
		*err = kmb_xasprintf(
			"%s: holds no exported symbol (a placeholder, as Debian ships; "
			"the real one is in the -dbg package)",
			path);
		return -ENODATA;
	}
	return added;
}
