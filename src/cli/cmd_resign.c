// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kmbuild resign: after a key rotation, re-sign every module kmbuild installed (and the built
 * copies it would install again) with the current key, and update the installed records.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/json.h"
#include "kernel/kernel.h"
#include "sign/sign.h"
#include "core/state.h"
#include "base/util.h"
#include "signed.h"

#define USAGE "resign [-k KERNEL]... [--key KEY --cert CERT] [--hash H]"

static const char help_text[] =
	"Usage: kmbuild " USAGE "\n"
	"\n"
	"Re-sign every kmbuild-installed module (plain, .ko.xz, .ko.zst, .ko.gz) of the given\n"
	"kernels (default: every kernel with installed modules) with the current key, as\n"
	"discovered by `kmbuild mok status`. Also re-signs the built copies kept in the state\n"
	"tree and rewrites the installed-file records; new files are synced to disk before\n"
	"they replace the old ones. The hash is each kernel's\n"
	"CONFIG_MODULE_SIG_HASH unless --hash is given; kernels without CONFIG_MODULE_SIG are\n"
	"skipped. Initramfs images keep their old copies: regenerate them afterwards.\n"
	"\n"
	"Exit: 0 all re-signed (or nothing to do); 1 some module failed; 2 usage;\n"
	"4 no key/certificate found, or a kernel's hash cannot be determined.\n";

struct kjob {
	char *kernel;
	const char *hash;     /* NULL: skipped (reason in why) */
	struct kmb_kernel *k; /* owns hash */
	char why[256];
	struct kmb_strv paths; /* absolute */
	size_t first, count;   /* slice of the global batch */
};

/* One run: the jobs, and every path to sign in kernel order. */
struct resign {
	struct kjob *jobs;
	size_t njobs;
	struct kmb_strv all;	   /* the jobs' paths, each job a slice */
	struct kmb_cli_signed res; /* per path of all */
	char *cert_used;
};

static bool needs_resign(const struct kmb_entry *e)
{
	return e->kernel && (e->state == KMB_ST_INSTALLED || e->state == KMB_ST_BROKEN);
}

static bool is_module_name(const char *n)
{
	return kmb_endswith(n, ".ko") || kmb_endswith(n, ".ko.xz") || kmb_endswith(n, ".ko.zst") ||
	       kmb_endswith(n, ".ko.gz");
}

/* Built copies under <state>/<m>/<v>/<k>/<a>/module/, so a reinstall carries the new key. */
static void add_built(const struct kmb_ctx *ctx, const struct kmb_entry *e, struct kmb_strv *out)
{
	char *kd = kmb_state_kernel_dir(ctx, e->name, e->version, e->kernel, e->arch);
	char *md = kmb_xasprintf("%s/module", kd);
	DIR *d = opendir(md);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || !is_module_name(de->d_name))
			continue;
		char *p = kmb_xasprintf("%s/%s", md, de->d_name);
		if (!kmb_strv_contains(out, p))
			kmb_strv_push(out, p);
		free(p);
	}
	if (d)
		closedir(d);
	free(md);
	free(kd);
}

static int update_records(const struct kmb_ctx *ctx, const struct kmb_entry *e)
{
	struct kmb_installed_file *f;
	size_t n;
	int r = kmb_state_installed_files(ctx, e->name, e->version, e->kernel, e->arch, &f, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		char *abs = kmb_root_path(ctx, f[i].path);
		char hex[65];
		if (kmb_sha256_file(abs, hex) == 0)
			memcpy(f[i].sha256, hex, sizeof(hex));
		free(abs);
	}
	r = kmb_state_write_installed(ctx, e->name, e->version, e->kernel, e->arch, f, n);
	kmb_installed_files_free(f, n);
	return r;
}

static struct kjob *job_for(struct resign *r, const char *kernel)
{
	for (size_t x = 0; x < r->njobs; x++)
		if (!strcmp(r->jobs[x].kernel, kernel))
			return &r->jobs[x];
	r->jobs = kmb_xrealloc(r->jobs, (r->njobs + 1) * sizeof(*r->jobs));
	struct kjob *j = &r->jobs[r->njobs++];
	memset(j, 0, sizeof(*j));
	j->kernel = kmb_xstrdup(kernel);
	return j;
}

/* Installed files (recorded root-relative) and built copies, grouped by kernel in the order
 * of the listing. */
static void collect(const struct kmb_ctx *ctx, const struct kmb_entry *ents, size_t nents,
		    const struct kmb_strv *want, struct resign *r)
{
	for (size_t i = 0; i < nents; i++) {
		const struct kmb_entry *e = &ents[i];
		if (!needs_resign(e) || (want->n && !kmb_strv_contains(want, e->kernel)))
			continue;
		struct kjob *j = job_for(r, e->kernel);
		struct kmb_installed_file *f;
		size_t n;
		if (kmb_state_installed_files(ctx, e->name, e->version, e->kernel, e->arch, &f,
					      &n) == 0) {
			for (size_t x = 0; x < n; x++) {
				char *abs = kmb_root_path(ctx, f[x].path);
				if (!kmb_strv_contains(&j->paths, abs))
					kmb_strv_push(&j->paths, abs);
				free(abs);
			}
			kmb_installed_files_free(f, n);
		}
		add_built(ctx, e, &j->paths);
	}
	for (size_t i = 0; i < want->n; i++) {
		bool found = false;
		for (size_t x = 0; x < r->njobs; x++)
			found |= !strcmp(r->jobs[x].kernel, want->v[i]);
		if (!found)
			kmb_info(ctx, "%s: no kmbuild-installed modules", want->v[i]);
	}
}

/* Each kernel's hash; kernels that do not verify signatures are skipped. 0 or a kmb_exit code
 * for a kernel whose hash cannot be told. */
static int decide_hashes(const struct kmb_ctx *ctx, struct resign *r, const char *hash_opt)
{
	int ret = 0;

	for (size_t x = 0; x < r->njobs; x++) {
		struct kjob *j = &r->jobs[x];
		if (hash_opt) {
			j->hash = hash_opt;
			continue;
		}
		kmb_kernel_open(ctx, j->kernel, &j->k);
		int d = kmb_sign_decide(j->k, &j->hash, j->why, sizeof(j->why));
		if (d < 0 || (d == 0 && j->k->n_cfg == 0)) {
			kmb_err("resign: %s: %s; pass --hash to re-sign anyway", j->kernel, j->why);
			ret = KMB_EXIT_NOTFOUND;
			j->hash = NULL;
		} else if (d == 0) {
			kmb_info(ctx, "%s: skipped: %s", j->kernel, j->why);
		}
	}
	/* The paths of the kernels to re-sign, each kernel a slice of r->all. */
	for (size_t x = 0; x < r->njobs; x++) {
		struct kjob *j = &r->jobs[x];
		j->first = r->all.n;
		for (size_t i = 0; j->hash && i < j->paths.n; i++)
			kmb_strv_push(&r->all, j->paths.v[i]);
		j->count = r->all.n - j->first;
	}
	return ret;
}

static bool same_hash(const struct kjob *a, const struct kjob *b)
{
	return a->hash && b->hash && !strcmp(a->hash, b->hash);
}

/* Sign every path of the kernels that share jobs[x]'s hash with one signer (kernels rarely
 * differ), results back in r->res at their place in r->all. 0 or a kmb_exit code. */
static int sign_batch(const struct kmb_ctx *ctx, struct resign *r, size_t x, const char *key,
		      const char *cert)
{
	struct kmb_signer *s = NULL;
	char err[1024];
	int o = kmb_signer_open(ctx, r->jobs[x].hash, key, cert, &s, err, sizeof(err));

	if (o < 0) {
		kmb_err("%s", err);
		return o == -ENOENT ? KMB_EXIT_NOTFOUND : KMB_EXIT_FAIL;
	}
	size_t *idx = kmb_xcalloc(r->all.n, sizeof(*idx)), nb = 0;
	const char **paths = kmb_xcalloc(r->all.n, sizeof(*paths));
	for (size_t y = x; y < r->njobs; y++)
		for (size_t i = 0; same_hash(&r->jobs[y], &r->jobs[x]) && i < r->jobs[y].count;
		     i++) {
			idx[nb] = r->jobs[y].first + i;
			paths[nb++] = r->all.v[r->jobs[y].first + i];
		}
	struct kmb_cli_signed b;
	kmb_cli_signed_init(&b, nb);
	kmb_sign_many(s, paths, nb, ctx->jobs, true, b.rcs, b.errs);
	for (size_t i = 0; i < nb; i++) {
		r->res.rcs[idx[i]] = b.rcs[i];
		r->res.errs[idx[i]] = b.errs[i];
		b.errs[i] = NULL; /* moved */
	}
	if (!r->cert_used)
		r->cert_used = kmb_xstrdup(kmb_signer_cert_path(s));
	kmb_cli_signed_free(&b);
	free(paths);
	free(idx);
	kmb_signer_free(s);
	return 0;
}

static int sign_all(const struct kmb_ctx *ctx, struct resign *r, const char *key, const char *cert)
{
	kmb_cli_signed_init(&r->res, r->all.n);
	for (size_t x = 0; x < r->njobs; x++) {
		bool done = false;
		for (size_t y = 0; y < x; y++)
			done |= r->jobs[y].count && same_hash(&r->jobs[y], &r->jobs[x]);
		if (!r->jobs[x].hash || !r->jobs[x].count || done)
			continue;
		int rc = sign_batch(ctx, r, x, key, cert);
		if (rc)
			return rc;
	}
	return 0;
}

/* Records of every touched entry: the installed files' hashes changed. */
static int update_all_records(const struct kmb_ctx *ctx, const struct resign *r,
			      const struct kmb_entry *ents, size_t nents)
{
	int ret = 0;

	for (size_t i = 0; i < nents; i++) {
		const struct kmb_entry *e = &ents[i];
		for (size_t x = 0; x < r->njobs; x++)
			if (r->jobs[x].hash && needs_resign(e) &&
			    !strcmp(r->jobs[x].kernel, e->kernel) && update_records(ctx, e) < 0) {
				kmb_err("resign: %s/%s %s: cannot update the installed record",
					e->name, e->version, e->kernel);
				ret = KMB_EXIT_FAIL;
			}
	}
	return ret;
}

static void print_json(const struct resign *r)
{
	struct kmb_json js;
	kmb_json_init(&js, stdout);
	kmb_json_obj_begin(&js, NULL);
	kmb_json_str(&js, "cert", r->cert_used);
	kmb_json_arr_begin(&js, "kernels");
	for (size_t x = 0; x < r->njobs; x++) {
		const struct kjob *j = &r->jobs[x];
		kmb_json_obj_begin(&js, NULL);
		kmb_json_str(&js, "kernel", j->kernel);
		kmb_json_str(&js, "hash", j->hash);
		kmb_json_str(&js, "skipped", j->hash ? NULL : j->why);
		kmb_cli_signed_json(&js, &r->res, (const char *const *)r->all.v, j->first,
				    j->count);
		kmb_json_obj_end(&js);
	}
	kmb_json_arr_end(&js);
	kmb_json_obj_end(&js);
	kmb_json_finish(&js);
}

static void print_text(const struct kmb_ctx *ctx, const struct resign *r)
{
	for (size_t x = 0; x < r->njobs; x++) {
		const struct kjob *j = &r->jobs[x];
		size_t ok = 0;
		for (size_t i = j->first; i < j->first + j->count; i++)
			ok += r->res.rcs[i] == 0;
		if (j->hash)
			kmb_info(ctx, "%s: re-signed %zu of %zu module files with %s (%s)",
				 j->kernel, ok, j->count, r->cert_used, j->hash);
	}
	kmb_info(ctx, "initramfs images still hold the old copies: regenerate them "
		      "(update-initramfs -u -k KERNEL)");
}

static void resign_free(struct resign *r)
{
	for (size_t x = 0; x < r->njobs; x++) {
		free(r->jobs[x].kernel);
		kmb_strv_free(&r->jobs[x].paths);
		kmb_kernel_free(r->jobs[x].k);
	}
	free(r->jobs);
	kmb_strv_free(&r->all);
	kmb_cli_signed_free(&r->res);
	free(r->cert_used);
}

/* o: -k (only these kernels), --key, --cert, --hash. */
static int resign(const struct kmb_ctx *ctx, const struct kmb_cli_opts *o)
{
	struct kmb_entry *ents = NULL;
	size_t nents = 0;
	struct resign r = {0};
	int ret, rc;

	kmb_state_list(ctx, NULL, NULL, NULL, &ents, &nents);
	collect(ctx, ents, nents, &o->kernels, &r);
	ret = decide_hashes(ctx, &r, o->hash);
	if (r.all.n == 0) {
		if (r.njobs == 0 && !o->kernels.n)
			kmb_info(ctx, "no kmbuild-installed modules: nothing to re-sign");
		goto out;
	}
	if ((rc = sign_all(ctx, &r, o->key, o->cert))) {
		ret = rc;
		goto out;
	}
	if (kmb_cli_signed_report(ctx, &r.res, (const char *const *)r.all.v))
		ret = KMB_EXIT_FAIL;
	if ((rc = update_all_records(ctx, &r, ents, nents)))
		ret = rc;
	if (ctx->json)
		print_json(&r);
	else
		print_text(ctx, &r);
out:
	resign_free(&r);
	kmb_entries_free(ents, nents);
	return ret;
}

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	struct kmb_cli_parser p;
	int rc;

	kmb_cli_parser_init(&p, &kmb_cmd_resign, KMB_OPT_RELEASES | KMB_OPT_KEYPAIR | KMB_OPT_HASH,
			    "+", NULL);
	if (kmb_cli_next_opt(&p, argc, argv) < 0)
		return p.exit;
	const struct kmb_cli_opts *o = &p.o;
	if (optind < argc || !o->key != !o->cert ||
	    (o->hash && !kmb_sign_hash_supported(o->hash))) {
		kmb_err("resign: %s", optind < argc ? "unexpected argument"
				      : !o->key != !o->cert
					      ? "--key and --cert go together"
					      : "--hash: not a module signature hash");
		rc = KMB_EXIT_USAGE;
	} else {
		rc = resign(ctx, o);
	}
	kmb_cli_opts_free(&p.o);
	return rc;
}

const struct kmb_cmd kmb_cmd_resign = {
	.name = "resign",
	.run = run,
	.usage = USAGE,
	.help = "re-sign installed modules with the current key (after a key rotation)",
	.flags = KMB_CMD_LOCK,
	.help_text = help_text,
};
