// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kmbuild resign: after a key rotation, re-sign every module kmbuild installed (and the built
 * copies it would install again) with the current key, and update the installed records.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/json.h"
#include "kernel/kernel.h"
#include "sign/sign.h"
#include "core/state.h"
#include "base/util.h"

static const char help_text[] =
	"Usage: kmbuild resign [-k KERNEL]... [--key KEY --cert CERT] [--hash H]\n"
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

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"kernel", required_argument, NULL, 'k'}, {"key", required_argument, NULL, 'K'},
		{"cert", required_argument, NULL, 'C'},	  {"hash", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	const char *key = NULL, *cert = NULL, *hash_opt = NULL;
	struct kmb_strv want = {0};
	struct kmb_entry *ents = NULL;
	size_t nents = 0;
	struct kjob *jobs = NULL;
	size_t njobs = 0;
	char err[1024];
	int c, r, ret = KMB_EXIT_OK;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			kmb_strv_push(&want, optarg);
			break;
		case 'K':
			key = optarg;
			break;
		case 'C':
			cert = optarg;
			break;
		case 'H':
			hash_opt = optarg;
			break;
		case 'h':
			fputs(help_text, stdout);
			kmb_strv_free(&want);
			return KMB_EXIT_OK;
		default:
			fputs(help_text, stderr);
			kmb_strv_free(&want);
			return KMB_EXIT_USAGE;
		}
	}
	if (optind < argc || !key != !cert || (hash_opt && !kmb_sign_hash_supported(hash_opt))) {
		kmb_err("resign: %s", optind < argc   ? "unexpected argument"
				      : !key != !cert ? "--key and --cert go together"
						      : "--hash: not a module signature hash");
		kmb_strv_free(&want);
		return KMB_EXIT_USAGE;
	}
	kmb_state_list(ctx, NULL, NULL, NULL, &ents, &nents);

	/* Group installed entries by kernel, keeping the order of the listing. */
	for (size_t i = 0; i < nents; i++) {
		const struct kmb_entry *e = &ents[i];
		struct kjob *j = NULL;

		if (e->state != KMB_ST_INSTALLED && e->state != KMB_ST_BROKEN)
			continue;
		if (!e->kernel || (want.n && !kmb_strv_contains(&want, e->kernel)))
			continue;
		for (size_t x = 0; x < njobs; x++)
			if (!strcmp(jobs[x].kernel, e->kernel))
				j = &jobs[x];
		if (!j) {
			jobs = kmb_xrealloc(jobs, (njobs + 1) * sizeof(*jobs));
			j = &jobs[njobs++];
			memset(j, 0, sizeof(*j));
			j->kernel = kmb_xstrdup(e->kernel);
		}
		struct kmb_installed_file *f;
		size_t n;
		if (kmb_state_installed_files(ctx, e->name, e->version, e->kernel, e->arch, &f,
					      &n) == 0) {
			/* Recorded paths are root-relative. */
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
	for (size_t i = 0; i < want.n; i++) {
		bool found = false;
		for (size_t x = 0; x < njobs; x++)
			found |= !strcmp(jobs[x].kernel, want.v[i]);
		if (!found)
			kmb_info(ctx, "%s: no kmbuild-installed modules", want.v[i]);
	}

	/* Each kernel's hash; kernels that do not verify signatures are skipped. */
	for (size_t x = 0; x < njobs; x++) {
		struct kjob *j = &jobs[x];
		if (hash_opt) {
			j->hash = hash_opt;
			continue;
		}
		kmb_kernel_open(ctx, j->kernel, &j->k);
		r = kmb_sign_decide(j->k, &j->hash, j->why, sizeof(j->why));
		if (r < 0 || (r == 0 && j->k->n_cfg == 0)) {
			kmb_err("resign: %s: %s; pass --hash to re-sign anyway", j->kernel, j->why);
			ret = KMB_EXIT_NOTFOUND;
			j->hash = NULL;
		} else if (r == 0) {
			kmb_info(ctx, "%s: skipped: %s", j->kernel, j->why);
		}
	}

	/* One batch per hash (kernels rarely differ), in kernel order. */
	struct kmb_strv all = {0};
	for (size_t x = 0; x < njobs; x++) {
		jobs[x].first = all.n;
		if (jobs[x].hash)
			for (size_t i = 0; i < jobs[x].paths.n; i++)
				kmb_strv_push(&all, jobs[x].paths.v[i]);
		jobs[x].count = all.n - jobs[x].first;
	}
	if (all.n == 0) {
		if (njobs == 0 && !want.n)
			kmb_info(ctx, "no kmbuild-installed modules: nothing to re-sign");
		kmb_strv_free(&all);
		goto out;
	}
	int *rcs = kmb_xcalloc(all.n, sizeof(*rcs));
	char **errs = kmb_xcalloc(all.n, sizeof(*errs));
	const char *cert_used = NULL;
	for (size_t x = 0; x < njobs; x++) {
		if (!jobs[x].hash || !jobs[x].count)
			continue;
		bool done = false;
		for (size_t y = 0; y < x; y++)
			done |= jobs[y].hash && !strcmp(jobs[y].hash, jobs[x].hash);
		if (done)
			continue;
		struct kmb_strv batch = {0};
		struct kmb_signer *s = NULL;
		for (size_t y = x; y < njobs; y++)
			if (jobs[y].hash && !strcmp(jobs[y].hash, jobs[x].hash))
				for (size_t i = jobs[y].first; i < jobs[y].first + jobs[y].count;
				     i++)
					kmb_strv_push(&batch, all.v[i]);
		r = kmb_signer_open(ctx, jobs[x].hash, key, cert, &s, err, sizeof(err));
		if (r < 0) {
			kmb_err("%s", err);
			ret = r == -ENOENT ? KMB_EXIT_NOTFOUND : KMB_EXIT_FAIL;
			kmb_strv_free(&batch);
			kmb_strv_free(&all);
			free(rcs);
			free(errs);
			goto out;
		}
		int *brc = kmb_xcalloc(batch.n, sizeof(*brc));
		char **berr = kmb_xcalloc(batch.n, sizeof(*berr));
		kmb_sign_many(s, (const char *const *)batch.v, batch.n, ctx->jobs, true, brc, berr);
		/* Back into the global order (paths are unique per kernel). */
		size_t bi = 0;
		for (size_t y = x; y < njobs; y++)
			if (jobs[y].hash && !strcmp(jobs[y].hash, jobs[x].hash))
				for (size_t i = jobs[y].first; i < jobs[y].first + jobs[y].count;
				     i++, bi++) {
					rcs[i] = brc[bi];
					errs[i] = berr[bi];
				}
		if (!cert_used)
			cert_used = kmb_xstrdup(kmb_signer_cert_path(s));
		free(brc);
		free(berr);
		kmb_strv_free(&batch);
		kmb_signer_free(s);
	}
	for (size_t i = 0; i < all.n; i++)
		if (errs[i]) {
			kmb_err("%s", errs[i]);
			ret = KMB_EXIT_FAIL;
		}

	/* Records of every touched entry: the installed files' hashes changed. */
	for (size_t i = 0; i < nents; i++) {
		const struct kmb_entry *e = &ents[i];
		for (size_t x = 0; x < njobs; x++)
			if (jobs[x].hash && e->kernel && !strcmp(jobs[x].kernel, e->kernel) &&
			    (e->state == KMB_ST_INSTALLED || e->state == KMB_ST_BROKEN) &&
			    update_records(ctx, e) < 0) {
				kmb_err("resign: %s/%s %s: cannot update the installed record",
					e->name, e->version, e->kernel);
				ret = KMB_EXIT_FAIL;
			}
	}

	if (ctx->json) {
		struct kmb_json js;
		kmb_json_init(&js, stdout);
		kmb_json_obj_begin(&js, NULL);
		kmb_json_str(&js, "cert", cert_used);
		kmb_json_arr_begin(&js, "kernels");
		for (size_t x = 0; x < njobs; x++) {
			kmb_json_obj_begin(&js, NULL);
			kmb_json_str(&js, "kernel", jobs[x].kernel);
			kmb_json_str(&js, "hash", jobs[x].hash);
			kmb_json_str(&js, "skipped", jobs[x].hash ? NULL : jobs[x].why);
			kmb_json_arr_begin(&js, "files");
			for (size_t i = jobs[x].first; i < jobs[x].first + jobs[x].count; i++) {
				kmb_json_obj_begin(&js, NULL);
				kmb_json_str(&js, "path", all.v[i]);
				kmb_json_bool(&js, "signed", rcs[i] == 0);
				kmb_json_str(&js, "error", errs[i]);
				kmb_json_obj_end(&js);
			}
			kmb_json_arr_end(&js);
			kmb_json_obj_end(&js);
		}
		kmb_json_arr_end(&js);
		kmb_json_obj_end(&js);
		kmb_json_finish(&js);
	} else {
		for (size_t x = 0; x < njobs; x++) {
			size_t ok = 0;
			for (size_t i = jobs[x].first; i < jobs[x].first + jobs[x].count; i++)
				ok += rcs[i] == 0;
			if (jobs[x].hash)
				kmb_info(ctx, "%s: re-signed %zu of %zu module files with %s (%s)",
					 jobs[x].kernel, ok, jobs[x].count, cert_used,
					 jobs[x].hash);
		}
		kmb_info(ctx, "initramfs images still hold the old copies: regenerate them "
			      "(update-initramfs -u -k KERNEL)");
	}
	for (size_t i = 0; i < all.n; i++)
		free(errs[i]);
	free(errs);
	free(rcs);
	free((char *)cert_used);
	kmb_strv_free(&all);
out:
	for (size_t x = 0; x < njobs; x++) {
		free(jobs[x].kernel);
		kmb_strv_free(&jobs[x].paths);
		kmb_kernel_free(jobs[x].k);
	}
	free(jobs);
	kmb_entries_free(ents, nents);
	kmb_strv_free(&want);
	return ret;
}

const struct kmb_cmd kmb_cmd_resign = {
	.name = "resign",
	.run = run,
	.usage = "resign [-k KERNEL]... [--key KEY --cert CERT] [--hash H]",
	.help = "re-sign installed modules with the current key (after a key rotation)",
	.flags = KMB_CMD_LOCK,
};
