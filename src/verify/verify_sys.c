// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * System configuration that decides what a kernel loads at boot. Everything is read through
 * the root prefix; nothing here runs a command.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libkmod.h>

#include "verify/modfile.h"
#include "base/util.h"
#include "verify/verify_sys.h"

static void underscore(char *s)
{
	for (; *s; s++)
		if (*s == '-')
			*s = '_';
}

/* Files of a directory ending in suffix (any when NULL), sorted, as full paths. */
static void list_files(const char *dir, const char *suffix, struct kmb_strv *out)
{
	struct kmb_strv names = {0};
	kmb_dir_names(dir, suffix, &names);
	for (size_t i = 0; i < names.n; i++)
		kmb_strv_pushf(out, "%s/%s", dir, names.v[i]);
	kmb_strv_free(&names);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* ---- kernel command line ------------------------------------------------------------------- */

static void parse_cmdline(const char *line, struct kmb_bootcmd *c)
{
	char *copy = kmb_xstrdup(line), *tok, *save = NULL;

	for (tok = strtok_r(copy, " \t\n\"'", &save); tok;
	     tok = strtok_r(NULL, " \t\n\"'", &save)) {
		if (strcmp(tok, "module.sig_enforce") == 0 ||
		    strcmp(tok, "module.sig_enforce=1") == 0 ||
		    strcasecmp(tok, "module.sig_enforce=y") == 0) {
			c->sig_enforce = true;
		} else if (kmb_startswith(tok, "module.sig_enforce=")) {
			c->sig_enforce = false;
		} else if (kmb_startswith(tok, "lockdown=")) {
			const char *v = tok + strlen("lockdown=");
			free(c->lockdown);
			c->lockdown =
				strcmp(v, "integrity") == 0 || strcmp(v, "confidentiality") == 0
					? kmb_xstrdup(v)
					: NULL;
		}
	}
	free(copy);
}

/* GRUB_CMDLINE_LINUX(_DEFAULT)="..." values of a shell-style defaults file. */
static bool grub_values(const char *path, struct kmb_buf *out)
{
	char *data, *line, *save = NULL;
	bool found = false;

	if (kmb_read_file(path, &data, NULL) < 0)
		return false;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *l = trim(line);
		if (kmb_startswith(l, "export "))
			l = trim(l + 7);
		if (!kmb_startswith(l, "GRUB_CMDLINE_LINUX=") &&
		    !kmb_startswith(l, "GRUB_CMDLINE_LINUX_DEFAULT="))
			continue;
		char *v = strchr(l, '=') + 1;
		size_t n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v[n - 1] = '\0';
			v++;
		}
		kmb_buf_printf(out, " %s", v);
		found = true;
	}
	free(data);
	return found;
}

void kmb_verify_bootcmd_read(const struct kmb_ctx *ctx, const char *release, struct kmb_bootcmd *c)
{
	char *p = kmb_root_path(ctx, "/etc/kernel/cmdline"), *data = NULL;
	struct kmb_buf b = {0};
	struct kmb_strv files = {0};

	(void)release;
	memset(c, 0, sizeof(*c));
	if (kmb_read_file(p, &data, NULL) == 0) {
		parse_cmdline(data, c);
		c->source = kmb_xstrdup("/etc/kernel/cmdline");
		free(data);
		free(p);
		return;
	}
	free(p);
	p = kmb_root_path(ctx, "/etc/default/grub");
	kmb_strv_push(&files, p);
	free(p);
	p = kmb_root_path(ctx, "/etc/default/grub.d");
	list_files(p, ".cfg", &files);
	free(p);
	bool found = false;
	for (size_t i = 0; i < files.n; i++)
		found |= grub_values(files.v[i], &b);
	kmb_strv_free(&files);
	if (found) {
		parse_cmdline(b.s, c);
		c->source = kmb_xstrdup("/etc/default/grub");
		kmb_buf_free(&b);
		return;
	}
	kmb_buf_free(&b);
	p = kmb_root_path(ctx, "/proc/cmdline");
	if (kmb_read_file(p, &data, NULL) == 0) {
		parse_cmdline(data, c);
		c->source = kmb_xstrdup("/proc/cmdline");
		free(data);
	}
	free(p);
}

void kmb_verify_bootcmd_free(struct kmb_bootcmd *c)
{
	free(c->lockdown);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

int kmb_verify_boot_config(const struct kmb_ctx *ctx, const char *release, char ***names,
			   char ***values, size_t *n)
{
	char *p = kmb_xasprintf("%s/config-%s", ctx->boot_dir, release), *data, *line, *save = NULL;
	struct kmb_strv lines = {0};
	int r = kmb_read_file(p, &data, NULL);

	free(p);
	*names = *values = NULL;
	*n = 0;
	if (r < 0)
		return r;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (kmb_startswith(line, "CONFIG_") && strchr(line, '='))
			kmb_strv_push(&lines, line);
	free(data);
	if (lines.n)
		qsort(lines.v, lines.n, sizeof(char *), kmb_strcmp_p);
	*names = kmb_xcalloc(lines.n ? lines.n : 1, sizeof(char *));
	*values = kmb_xcalloc(lines.n ? lines.n : 1, sizeof(char *));
	for (size_t i = 0; i < lines.n; i++) {
		char *eq = strchr(lines.v[i], '='), *v = eq + 1;
		size_t vl = strlen(v);
		*eq = '\0';
		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
			v[vl - 1] = '\0';
			v++;
		}
		(*names)[i] = kmb_xstrdup(lines.v[i]);
		(*values)[i] = kmb_xstrdup(v);
	}
	*n = lines.n;
	kmb_strv_free(&lines);
	return 0;
}

/* ---- module loading policy ----------------------------------------------------------------- */

static void read_load_list(const struct kmb_ctx *ctx, const char *path, struct kmb_vpolicy *p)
{
	char *data, *line, *save = NULL;

	if (kmb_read_file(path, &data, NULL) < 0)
		return;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *l = trim(line);
		if (!*l || *l == '#' || *l == ';')
			continue;
		l[strcspn(l, " \t")] = '\0'; /* /etc/modules allows "name args" */
		underscore(l);
		kmb_strv_push(&p->load, l);
		kmb_strv_push(&p->load_src, path + strlen(ctx->root));
	}
	free(data);
}

/* kernel.modules_disabled as this file sets it: 1, 0, or -1 when it does not mention it. */
static int sysctl_disables(const char *path)
{
	char *data, *line, *save = NULL;
	int on = -1;

	if (kmb_read_file(path, &data, NULL) < 0)
		return -1;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *l = trim(line), *eq;
		if (*l == '-')
			l++; /* "-key = value": ignore failure, same meaning */
		if (!*l || *l == '#' || *l == ';' || !(eq = strchr(l, '=')))
			continue;
		*eq = '\0';
		char *k = trim(l), *v = trim(eq + 1);
		if (strcmp(k, "kernel.modules_disabled") == 0 ||
		    strcmp(k, "kernel/modules_disabled") == 0)
			on = strcmp(v, "1") == 0;
	}
	free(data);
	return on;
}

void kmb_vpolicy_read(const struct kmb_ctx *ctx, struct kmb_vpolicy *p)
{
	static const char *const load_dirs[] = {"/etc/modules-load.d", "/run/modules-load.d",
						"/usr/local/lib/modules-load.d",
						"/usr/lib/modules-load.d", "/lib/modules-load.d"};
	static const char *const sysctl_dirs[] = {"/etc/sysctl.d", "/run/sysctl.d",
						  "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
						  "/lib/sysctl.d"};
	struct kmb_strv files = {0};
	char *p1;

	memset(p, 0, sizeof(*p));
	p1 = kmb_root_path(ctx, "/etc/modules");
	read_load_list(ctx, p1, p);
	free(p1);
	for (size_t i = 0; i < KMB_ARRAY_SIZE(load_dirs); i++) {
		p1 = kmb_root_path(ctx, load_dirs[i]);
		list_files(p1, ".conf", &files);
		free(p1);
	}
	for (size_t i = 0; i < files.n; i++)
		read_load_list(ctx, files.v[i], p);
	kmb_strv_free(&files);

	for (size_t i = 0; i < KMB_ARRAY_SIZE(sysctl_dirs); i++) {
		p1 = kmb_root_path(ctx, sysctl_dirs[i]);
		list_files(p1, ".conf", &files);
		free(p1);
	}
	p1 = kmb_root_path(ctx, "/etc/sysctl.conf");
	kmb_strv_push(&files, p1); /* read last: it overrides sysctl.d */
	free(p1);
	for (size_t i = 0; i < files.n; i++) {
		int on = sysctl_disables(files.v[i]);
		if (on < 0)
			continue;
		free(p->modules_disabled);
		p->modules_disabled = on ? kmb_xstrdup(files.v[i] + strlen(ctx->root)) : NULL;
	}
	kmb_strv_free(&files);
}

void kmb_vpolicy_free(struct kmb_vpolicy *p)
{
	kmb_strv_free(&p->load);
	kmb_strv_free(&p->load_src);
	free(p->modules_disabled);
	memset(p, 0, sizeof(*p));
}

void kmb_verify_policy_system(const struct kmb_vpolicy *p, const struct kmb_vsubject *s,
			      struct kmb_findings *f)
{
	if (p->modules_disabled)
		kmb_finding_add(f, s, KMB_VC_POLICY, KMB_VS_WARN,
				kmb_xasprintf("remove kernel.modules_disabled=1 from %s, or list "
					      "every needed module in /etc/modules-load.d",
					      p->modules_disabled),
				"kernel.modules_disabled=1 (%s): once systemd-sysctl has run no "
				"module can be loaded ('Operation not permitted')",
				p->modules_disabled);
}

static bool is_disabling_command(const char *cmd)
{
	char *c = kmb_xstrdup(cmd), *t = trim(c);
	bool r = strcmp(t, "/bin/false") == 0 || strcmp(t, "/bin/true") == 0 ||
		 strcmp(t, "/usr/bin/false") == 0 || strcmp(t, "/usr/bin/true") == 0 ||
		 strcmp(t, "false") == 0 || strcmp(t, "true") == 0;
	free(c);
	return r;
}

void kmb_verify_policy_module(struct kmb_vkernel *vk, const struct kmb_vpolicy *p, const char *name,
			      const struct kmb_vsubject *s, struct kmb_findings *f)
{
	const char *src = NULL;
	struct kmod_config_iter *it;
	bool blacklisted = false;
	char *install = NULL;

	for (size_t i = 0; i < p->load.n && !src; i++)
		if (strcmp(p->load.v[i], name) == 0)
			src = p->load_src.v[i];
	if (!src || !vk->kmod)
		return;
	if ((it = kmod_config_get_blacklists(vk->kmod))) {
		while (kmod_config_iter_next(it))
			if (strcmp(kmod_config_iter_get_key(it), name) == 0)
				blacklisted = true;
		kmod_config_iter_free_iter(it);
	}
	if ((it = kmod_config_get_install_commands(vk->kmod))) {
		while (kmod_config_iter_next(it))
			if (strcmp(kmod_config_iter_get_key(it), name) == 0 &&
			    is_disabling_command(kmod_config_iter_get_value(it)))
				install = kmb_xstrdup(kmod_config_iter_get_value(it));
		kmod_config_iter_free_iter(it);
	}
	if (blacklisted)
		kmb_finding_add(
			f, s, KMB_VC_POLICY, KMB_VS_WARN,
			kmb_xasprintf("drop 'blacklist %s' from modprobe.d or drop it from %s",
				      name, src),
			"listed in %s but blacklisted in modprobe.d: systemd-modules-load "
			"skips it ('is deny-listed (by kmod)')",
			src);
	if (install)
		kmb_finding_add(
			f, s, KMB_VC_POLICY, KMB_VS_WARN,
			kmb_xasprintf("drop 'install %s %s' from modprobe.d or drop it from "
				      "%s",
				      name, install, src),
			"listed in %s but modprobe.d has 'install %s %s': it never loads", src,
			name, install);
	free(install);
}

/* ---- initramfs ------------------------------------------------------------------------------ */

void kmb_initrd_req_add(struct kmb_initrd_req *r, const char *name, const char *why)
{
	char *n = kmb_xstrdup(name);

	underscore(n);
	if (!kmb_strv_contains(&r->names, n)) {
		kmb_strv_push(&r->names, n);
		kmb_strv_push(&r->why, why);
	}
	free(n);
}

const char *kmb_initrd_req_why(const struct kmb_initrd_req *r, const char *name)
{
	for (size_t i = 0; i < r->names.n; i++)
		if (strcmp(r->names.v[i], name) == 0)
			return r->why.v[i];
	return NULL;
}

void kmb_initrd_req_free(struct kmb_initrd_req *r)
{
	kmb_strv_free(&r->names);
	kmb_strv_free(&r->why);
}

static void read_initramfs_tools(const struct kmb_ctx *ctx, struct kmb_initrd_req *r)
{
	char *p = kmb_root_path(ctx, "/etc/initramfs-tools/modules"), *data, *line, *save = NULL;

	if (kmb_read_file(p, &data, NULL) == 0) {
		for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *l = trim(line);
			if (!*l || *l == '#')
				continue;
			l[strcspn(l, " \t")] = '\0';
			kmb_initrd_req_add(r, l, "listed in /etc/initramfs-tools/modules");
		}
		free(data);
	}
	free(p);
}

/* dracut: add_drivers+=" a b " / force_drivers+="..." in dracut.conf(.d). */
static void read_dracut(const struct kmb_ctx *ctx, struct kmb_initrd_req *r)
{
	struct kmb_strv files = {0};
	char *p = kmb_root_path(ctx, "/etc/dracut.conf");

	kmb_strv_push(&files, p);
	free(p);
	p = kmb_root_path(ctx, "/etc/dracut.conf.d");
	list_files(p, ".conf", &files);
	free(p);
	p = kmb_root_path(ctx, "/usr/lib/dracut/dracut.conf.d");
	list_files(p, ".conf", &files);
	free(p);
	for (size_t i = 0; i < files.n; i++) {
		char *data, *line, *save = NULL;
		if (kmb_read_file(files.v[i], &data, NULL) < 0)
			continue;
		for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *l = trim(line), *eq, *v, *tok, *s2 = NULL;
			if (!kmb_startswith(l, "add_drivers") &&
			    !kmb_startswith(l, "force_drivers"))
				continue;
			if (!(eq = strchr(l, '=')))
				continue;
			v = eq + 1;
			char *why =
				kmb_xasprintf("add_drivers in %s", files.v[i] + strlen(ctx->root));
			for (tok = strtok_r(v, " \t\"'", &s2); tok;
			     tok = strtok_r(NULL, " \t\"'", &s2))
				kmb_initrd_req_add(r, tok, why);
			free(why);
		}
		free(data);
	}
	kmb_strv_free(&files);
}

/* The root file system's type, when a module provides it (root on ZFS, btrfs, ...). */
static void read_rootfs(const struct kmb_ctx *ctx, struct kmb_initrd_req *r)
{
	char *p = kmb_root_path(ctx, "/etc/fstab"), *data, *line, *save = NULL;

	if (kmb_read_file(p, &data, NULL) == 0) {
		for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char dev[256], mnt[256], type[64];
			if (line[0] == '#' || sscanf(line, "%255s %255s %63s", dev, mnt, type) != 3)
				continue;
			if (strcmp(mnt, "/") == 0)
				kmb_initrd_req_add(r, type, "it provides the root file system");
		}
		free(data);
	}
	free(p);
}

void kmb_initrd_req_read(const struct kmb_ctx *ctx, struct kmb_initrd_req *r)
{
	memset(r, 0, sizeof(*r));
	read_initramfs_tools(ctx, r);
	read_dracut(ctx, r);
	read_rootfs(ctx, r);
}

char *kmb_verify_initrd_path(const struct kmb_ctx *ctx, const char *release)
{
	char *deb = kmb_xasprintf("%s/initrd.img-%s", ctx->boot_dir, release);
	char *dracut = kmb_xasprintf("%s/initramfs-%s.img", ctx->boot_dir, release);

	if (!kmb_exists(deb) && kmb_exists(dracut)) {
		free(deb);
		return dracut;
	}
	free(dracut);
	return deb;
}

const struct kmb_initramfs_entry *kmb_initramfs_find_module(const struct kmb_initramfs *ir,
							    const char *release, const char *name)
{
	char prefix[512], prefix2[512], nb[256];

	snprintf(prefix, sizeof(prefix), "lib/modules/%s/", release);
	snprintf(prefix2, sizeof(prefix2), "usr/lib/modules/%s/", release);
	for (size_t i = ir->n_entries; i-- > 0;) {
		const struct kmb_initramfs_entry *e = &ir->entries[i];
		if (!e->regular || !strstr(e->name, ".ko"))
			continue;
		if (!kmb_startswith(e->name, prefix) && !kmb_startswith(e->name, prefix2))
			continue;
		kmb_module_name_from_path(e->name, nb, sizeof(nb));
		if (strcmp(nb, name) == 0)
			return e;
	}
	return NULL;
}

static char *initrd_fix(const struct kmb_vkernel *vk)
{
	return kmb_xasprintf("update-initramfs -u -k %s (or dracut -f --kver %s)", vk->release,
			     vk->release);
}

void kmb_verify_initramfs_module(const struct kmb_vkernel *vk, const char *image_path,
				 bool image_exists, const struct kmb_initramfs_entry *e,
				 const unsigned char *data, size_t len, const struct kmb_modfile *m,
				 const char *required, const struct kmb_vsubject *s,
				 struct kmb_findings *f)
{
	const char *img = image_path + strlen(vk->root);
	unsigned char *plain = NULL;

	if (!image_exists) {
		if (required)
			kmb_finding_add(f, s, KMB_VC_INITRAMFS, KMB_VS_ERROR, initrd_fix(vk),
					"must be in the initramfs (%s) but %s does not exist",
					required, img);
		return;
	}
	if (!e) {
		if (required)
			kmb_finding_add(
				f, s, KMB_VC_INITRAMFS, KMB_VS_ERROR, initrd_fix(vk),
				"missing from %s although it must be there (%s): early boot "
				"cannot load it",
				img, required);
		return;
	}
	if (!data) {
		kmb_finding_add(f, s, KMB_VC_INITRAMFS, KMB_VS_WARN, initrd_fix(vk),
				"cannot read /%s from %s", e->name, img);
		return;
	}
	if (kmb_compress_of(data, len) != KMB_COMPRESS_NONE) {
		char *why = NULL;
		if (kmb_decompress_mem(data, len, &plain, &len, &why) < 0) {
			kmb_finding_add(f, s, KMB_VC_INITRAMFS, KMB_VS_ERROR, initrd_fix(vk),
					"the copy in %s (/%s) cannot be decompressed: %s", img,
					e->name, why);
			free(why);
			return;
		}
		data = plain;
	}
	if (len != m->image_len || memcmp(data, m->image, len) != 0)
		kmb_finding_add(f, s, KMB_VC_INITRAMFS, required ? KMB_VS_ERROR : KMB_VS_WARN,
				initrd_fix(vk),
				"%s holds a different copy (/%s): the initramfs copy is what runs "
				"at boot, and loading the installed one later is a no-op",
				img, e->name);
	free(plain);
}
