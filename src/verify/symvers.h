/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Exported kernel symbols keyed by name: what vmlinux and modules export, with CRC, GPL-only
 * flag and namespace. Filled from Module.symvers (kernel headers), System.map, or the
 * __ksymtab of module files. One open-addressing hash table, strings in an arena it owns.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kmb_ksym {
	const char *name;
	const char *owner; /* "vmlinux" or the exporting module's name ("snd_pcm") */
	const char *path;  /* exporting module file or Module.symvers path column, or NULL */
	const char *ns;	   /* namespace or NULL */
	uint32_t crc;
	bool has_crc;
	bool gpl;
	bool gpl_known; /* System.map cannot tell EXPORT_SYMBOL from EXPORT_SYMBOL_GPL */
};

struct kmb_symtab;

struct kmb_symtab *kmb_symtab_new(void);
void kmb_symtab_free(struct kmb_symtab *t);
size_t kmb_symtab_count(const struct kmb_symtab *t);

/* NULL if nobody in the table exports name. */
const struct kmb_ksym *kmb_symtab_find(const struct kmb_symtab *t, const char *name);

/* Add (copying every string). An existing entry for name is replaced when replace is true,
 * else kept. Returns the stored entry. */
const struct kmb_ksym *kmb_symtab_add(struct kmb_symtab *t, const struct kmb_ksym *s, bool replace);

/* Iterate: *iter starts at 0; returns NULL at the end. */
const struct kmb_ksym *kmb_symtab_next(const struct kmb_symtab *t, size_t *iter);

/*
 * Parse Module.symvers ("0xCRC\tNAME\tMODULE\tEXPORT_TYPE[\tNAMESPACE]" per line) in one pass:
 * vmlinux exports go to vmlinux, module exports (owner = the module's name, path = the
 * MODULE column) to modules; either table may be NULL to drop those lines. Returns the number
 * of lines read, or a negative errno with *err set to one line naming file and line (-ENOENT,
 * -EBADMSG for a malformed line).
 */
int kmb_symvers_load(struct kmb_symtab *vmlinux, struct kmb_symtab *modules, const char *path,
		     char **err);

/* The same, keeping only the symbols named in want (checking a few modules needs a few dozen
 * of Module.symvers' ~25,000 lines); returns the number of lines kept. */
int kmb_symvers_load_only(struct kmb_symtab *vmlinux, struct kmb_symtab *modules, const char *path,
			  const struct kmb_symtab *want, char **err);

/*
 * Read System.map: "__ksymtab_NAME" entries mark exports (no CRC, GPL unknown). Debian ships
 * a placeholder System.map in linux-image packages (the real one is in the -dbg package):
 * such a file, with no export in it, gives -ENODATA and a message saying so.
 */
int kmb_sysmap_load(struct kmb_symtab *t, const char *path, char **err);
