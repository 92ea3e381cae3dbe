// SPDX-License-Identifier: GPL-2.0-or-later
/* Kernel discovery. Headers are looked up under the root first, then read-only on the host,
 * so a sandbox root needs no copy of them. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "kernel/headers.h"
#include "kernel/kernel.h"
#include "base/util.h"
#include "base/version.h"

/* The first complete headers tree: under the root, kmbuild's cache, then (for a sandbox root)
 * read-only on the host. headers.c knows the layouts and what "complete" means. */
static char *find_headers(const struct kmb_ctx *ctx, const char *release)
{
	char *dir = NULL;
	if (kmb_headers_find(ctx, release, &dir, NULL) < 0)
		return NULL;
	char *real = realpath(dir, NULL);
	free(dir);
	return real;
}

static void drop_config(struct kmb_kernel *k);

/* <modules_dir>/<release>/build under the root, else on the host when the headers are the
 * host's: the first that resolves to headers_dir. */
static char *find_build_link(const struct kmb_ctx *ctx, const struct kmb_kernel *k)
{
	char *cand[] = {kmb_xasprintf("%s/%s/build", ctx->modules_dir, k->release),
			kmb_xasprintf("/lib/modules/%s/build", k->release)};
	char *found = NULL;

	for (size_t i = 0; i < KMB_ARRAY_SIZE(cand) && k->headers_dir && !found; i++) {
		char *real = realpath(cand[i], NULL);
		if (real && strcmp(real, k->headers_dir) == 0)
			found = kmb_xstrdup(cand[i]);
		free(real);
	}
	for (size_t i = 0; i < KMB_ARRAY_SIZE(cand); i++)
		free(cand[i]);
	return found;
}

const char *kmb_kernel_source_dir(const struct kmb_kernel *k)
{
	return k->build_link ? k->build_link : k->headers_dir;
}

/* The one order of the config table, for its sort and its search: by name alone, a name ending
 * at '=' or at the end of the string. Sorting whole "NAME=value" lines by strcmp put
 * CONFIG_PCI200SYN=m before CONFIG_PCI=y ('2' < '='), and a search by bare name then missed
 * CONFIG_PCI: r8168 was excluded on a kernel with CONFIG_PCI=y. */
static int cfg_name_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char ca = *a == '=' ? 0 : (unsigned char)*a;
		unsigned char cb = *b == '=' ? 0 : (unsigned char)*b;
		if (ca != cb || !ca)
			return (int)ca - (int)cb;
	}
}

static int cfg_line_cmp(const void *a, const void *b)
{
	return cfg_name_cmp(*(char *const *)a, *(char *const *)b);
}

/* include/config/auto.conf is what kbuild itself reads; .config is the fallback. */
static void load_config(struct kmb_kernel *k)
{
	char *data = NULL, *line, *save = NULL;
	struct kmb_strv lines = {0};

	k->config_read = true;
	if (!k->headers_dir)
		return;
	const char *files[] = {"include/config/auto.conf", ".config"};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(files) && !data; i++) {
		char *p = kmb_xasprintf("%s/%s", k->headers_dir, files[i]);
		if (kmb_read_file(p, &data, NULL) < 0)
			data = NULL;
		free(p);
	}
	if (!data)
		return;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (kmb_startswith(line, "CONFIG_") && strchr(line, '='))
			kmb_strv_push(&lines, line);
	free(data);
	qsort(lines.v, lines.n, sizeof(char *), cfg_line_cmp);
	k->cfg_names = kmb_xcalloc(lines.n, sizeof(char *));
	k->cfg_values = kmb_xcalloc(lines.n, sizeof(char *));
	for (size_t i = 0; i < lines.n; i++) {
		char *eq = strchr(lines.v[i], '=');
		char *v = eq + 1;
		size_t vl = strlen(v);
		*eq = '\0';
		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
			v[vl - 1] = '\0';
			v++;
		}
		k->cfg_names[i] = kmb_xstrdup(lines.v[i]);
		k->cfg_values[i] = kmb_xstrdup(v);
	}
	k->n_cfg = lines.n;
	kmb_strv_free(&lines);
}

const char *kmb_kernel_config(struct kmb_kernel *k, const char *name)
{
	if (!k->config_read)
		load_config(k);
	size_t lo = 0, hi = k->n_cfg;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cfg_name_cmp(name, k->cfg_names[mid]);
		if (c == 0)
			return k->cfg_values[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *kmb_kernel_config_lookup(void *kernel, const char *name)
{
	return kmb_kernel_config(kernel, name);
}

char *kmb_running_release(void)
{
	struct utsname u;
	return kmb_xstrdup(uname(&u) == 0 ? u.release : "");
}

static char *detect_arch(struct kmb_kernel *k)
{
	static const struct {
		const char *config, *arch;
	} map[] = {
		{"CONFIG_X86_64", "x86_64"}, {"CONFIG_X86_32", "i686"},
		{"CONFIG_ARM64", "aarch64"}, {"CONFIG_ARM", "armv7l"},
		{"CONFIG_PPC64", "ppc64le"}, {"CONFIG_S390", "s390x"},
		{"CONFIG_RISCV", "riscv64"}, {"CONFIG_LOONGARCH", "loongarch64"},
	};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(map); i++) {
		const char *v = kmb_kernel_config(k, map[i].config);
		if (v && strcmp(v, "y") == 0)
			return kmb_xstrdup(map[i].arch);
	}
	struct utsname u;
	return kmb_xstrdup(uname(&u) == 0 ? u.machine : "unknown");
}

int kmb_kernel_open(const struct kmb_ctx *ctx, const char *release, struct kmb_kernel **out)
{
	struct kmb_kernel *k = kmb_xcalloc(1, sizeof(*k));

	k->release = kmb_xstrdup(release);
	k->modules_dir = kmb_xasprintf("%s/%s", ctx->modules_dir, release);
	k->installed = kmb_is_dir(k->modules_dir);
	k->headers_dir = find_headers(ctx, release);
	k->build_link = find_build_link(ctx, k);
	k->arch = detect_arch(k);
	char *sm = kmb_xasprintf("%s/System.map-%s", ctx->boot_dir, release);
	if (kmb_exists(sm))
		k->sysmap = sm;
	else
		free(sm);
	*out = k;
	return 0;
}

void kmb_kernel_free(struct kmb_kernel *k)
{
	if (!k)
		return;
	drop_config(k);
	free(k->release);
	free(k->arch);
	free(k->modules_dir);
	free(k->headers_dir);
	free(k->sysmap);
	free(k->build_link);
	free(k);
}

static void drop_config(struct kmb_kernel *k)
{
	for (size_t i = 0; i < k->n_cfg; i++) {
		free(k->cfg_names[i]);
		free(k->cfg_values[i]);
	}
	free(k->cfg_names);
	free(k->cfg_values);
	k->cfg_names = k->cfg_values = NULL;
	k->n_cfg = 0;
	k->config_read = false;
}

void kmb_kernel_set_headers(struct kmb_kernel *k, const char *dir)
{
	free(k->headers_dir);
	k->headers_dir = realpath(dir, NULL);
	if (!k->headers_dir)
		k->headers_dir = kmb_xstrdup(dir);
	/* Headers got later (a download cache) are used where they are. */
	free(k->build_link);
	k->build_link = NULL;
	drop_config(k);
	free(k->arch);
	k->arch = detect_arch(k);
}

bool kmb_kernel_tool_found(const char *name)
{
	const char *path = getenv("PATH");
	bool found = false;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	for (const char *p = path ? path : "/usr/bin:/bin"; *p && !found;) {
		size_t l = strcspn(p, ":");
		char *f = kmb_xasprintf("%.*s/%s", (int)l, p, name);
		found = access(f, X_OK) == 0;
		free(f);
		p += l + (p[l] == ':');
	}
	return found;
}

bool kmb_kernel_compiler(struct kmb_kernel *k, char **name)
{
	const char *cc = kmb_kernel_config(k, "CONFIG_CC_VERSION_TEXT");

	*name = cc && *cc ? kmb_xstrndup(cc, strcspn(cc, " ")) : NULL;
	return *name && kmb_kernel_tool_found(*name);
}

enum kmb_compress kmb_kernel_compression(struct kmb_kernel *k)
{
	const char *v;
	if ((v = kmb_kernel_config(k, "CONFIG_MODULE_COMPRESS_XZ")) && !strcmp(v, "y"))
		return KMB_COMPRESS_XZ;
	if ((v = kmb_kernel_config(k, "CONFIG_MODULE_COMPRESS_ZSTD")) && !strcmp(v, "y"))
		return KMB_COMPRESS_ZSTD;
	if ((v = kmb_kernel_config(k, "CONFIG_MODULE_COMPRESS_GZIP")) && !strcmp(v, "y"))
		return KMB_COMPRESS_GZIP;
	return KMB_COMPRESS_NONE;
}

const char *kmb_compress_suffix(enum kmb_compress c)
{
	switch (c) {
	case KMB_COMPRESS_GZIP:
		return ".gz";
	case KMB_COMPRESS_XZ:
		return ".xz";
	case KMB_COMPRESS_ZSTD:
		return ".zst";
	default:
		return "";
	}
}

/* A kernel release looks like it starts with a digit ("6.1.0-56-amd64"). */
static bool looks_like_release(const char *s)
{
	return s[0] >= '0' && s[0] <= '9' && kmb_is_safe_name(s);
}

static void scan(const char *dir, const char *prefix, struct kmb_strv *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!kmb_startswith(de->d_name, prefix))
			continue;
		const char *rel = de->d_name + strlen(prefix);
		/* linux-headers-6.1.0-56-common is not a kernel. */
		if (!looks_like_release(rel) || kmb_endswith(rel, "-common") ||
		    kmb_endswith(rel, "-common-rt"))
			continue;
		if (!kmb_strv_contains(out, rel))
			kmb_strv_push(out, rel);
	}
	closedir(d);
}

static int kernel_cmp_newest_first(const void *a, const void *b)
{
	const struct kmb_kernel *ka = *(struct kmb_kernel *const *)a;
	const struct kmb_kernel *kb = *(struct kmb_kernel *const *)b;
	return kmb_vercmp(kb->release, ka->release);
}

int kmb_kernel_list(const struct kmb_ctx *ctx, struct kmb_kernel ***out, size_t *n)
{
	struct kmb_strv rels = {0};
	char *p;

	scan(ctx->modules_dir, "", &rels);
	scan(ctx->src_dir, "linux-headers-", &rels);
	p = kmb_root_path(ctx, "/var/cache/kmbuild/headers");
	scan(p, "", &rels);
	free(p);
	if (ctx->root[0]) {
		/* Host kernels whose headers a sandbox may build against (read-only). */
		struct kmb_strv host = {0};
		scan("/lib/modules", "", &host);
		scan("/usr/src", "linux-headers-", &host);
		for (size_t i = 0; i < host.n; i++) {
			char *mk = kmb_xasprintf("/lib/modules/%s/build/Makefile", host.v[i]);
			char *mk2 = kmb_xasprintf("/usr/src/linux-headers-%s/Makefile", host.v[i]);
			if ((kmb_exists(mk) || kmb_exists(mk2)) &&
			    !kmb_strv_contains(&rels, host.v[i]))
				kmb_strv_push(&rels, host.v[i]);
			free(mk);
			free(mk2);
		}
		kmb_strv_free(&host);
	}
	struct kmb_kernel **v = kmb_xcalloc(rels.n, sizeof(*v));
	for (size_t i = 0; i < rels.n; i++)
		kmb_kernel_open(ctx, rels.v[i], &v[i]);
	qsort(v, rels.n, sizeof(*v), kernel_cmp_newest_first);
	*out = v;
	*n = rels.n;
	kmb_strv_free(&rels);
	return 0;
}

void kmb_kernel_list_free(struct kmb_kernel **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kmb_kernel_free(v[i]);
	free(v);
}
