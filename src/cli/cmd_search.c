// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild search [WORD]: the template catalogue, and what each means for the installed kernels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "add_template.h"
#include "cli.h"
#include "base/json.h"
#include "template/template.h"
#include "base/util.h"

static bool matches(const struct kmb_template *t, const char *word)
{
	return !word || strcasestr(t->name, word) || strcasestr(t->description, word);
}

static char *summary(const struct kmb_tpl_kernel *kv, size_t nk)
{
	size_t count[3] = {0};
	struct kmb_buf b = {0};

	for (size_t i = 0; i < nk; i++)
		count[kv[i].fit]++;
	if (!nk)
		return kmb_xstrdup("no kernels");
	static const enum kmb_tpl_fit order[] = {KMB_TPL_BUILDS, KMB_TPL_INTREE, KMB_TPL_EXCLUDED};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(order); i++)
		if (count[order[i]])
			kmb_buf_printf(&b, "%s%s %zu/%zu", b.len ? ", " : "",
				       kmb_tpl_fit_name(order[i]), count[order[i]], nk);
	return kmb_buf_steal(&b);
}

static const char *kind_name(enum kmb_tpl_kind k)
{
	return k == KMB_TPL_TARBALL ? "tarball" : k == KMB_TPL_DEB ? "deb" : "path";
}

static void json_template(struct kmb_json *j, const struct kmb_template *t,
			  const struct kmb_tpl_kernel *kv, size_t nk)
{
	kmb_json_obj_begin(j, NULL);
	kmb_json_str(j, "name", t->name);
	kmb_json_str(j, "version", t->version);
	kmb_json_str(j, "description", t->description);
	kmb_json_str(j, "homepage", t->homepage);
	kmb_json_str(j, "module", t->pkg->name);
	kmb_json_bool(j, "initramfs", t->pkg->remake_initrd);
	kmb_json_arr_begin(j, "sources");
	for (size_t i = 0; i < t->n_src; i++) {
		const struct kmb_tpl_source *s = &t->src[i];
		kmb_json_obj_begin(j, NULL);
		kmb_json_str(j, "label", s->label);
		kmb_json_str(j, "kind", kind_name(s->kind));
		if (s->kind == KMB_TPL_TARBALL)
			kmb_json_str(j, "url", s->url);
		if (s->kind == KMB_TPL_DEB) {
			kmb_json_str(j, "deb", s->deb);
			kmb_json_str(j, "deb_version", s->deb_version);
			kmb_json_str(j, "suite", s->suite);
		}
		if (s->kind == KMB_TPL_LOCAL)
			kmb_json_str(j, "path", s->path);
		kmb_json_str(j, "sha256", s->sha256);
		if (s->size >= 0)
			kmb_json_int(j, "size", s->size);
		kmb_json_obj_end(j);
	}
	kmb_json_arr_end(j);
	kmb_cli_json_tpl_kernels(j, kv, nk);
	kmb_json_obj_end(j);
}

static void print_row(const struct kmb_ctx *ctx, const struct kmb_template *t,
		      const struct kmb_tpl_kernel *kv, size_t nk, bool first)
{
	if (first)
		printf("%-14s %-16s %-22s %s\n", "NAME", "VERSION", "KERNELS", "DESCRIPTION");
	char *sum = summary(kv, nk);
	printf("%-14s %-16s %-22s %s\n", t->name, t->version, sum, t->description);
	free(sum);
	if (ctx->verbosity >= KMB_VERBOSE)
		for (size_t k = 0; k < nk; k++)
			printf("    %s: %s%s%s\n", kv[k].release, kmb_tpl_fit_name(kv[k].fit),
			       kv[k].why ? ": " : "", kv[k].why ? kv[k].why : "");
}

/* The catalogue's template `name` when it matches word: 1 shown, 0 not matching, -1 broken
 * (reported, never silently skipped). */
static int show(const struct kmb_ctx *ctx, struct kmb_json *j, const char *catalogue,
		const char *name, const char *word, bool first)
{
	struct kmb_template *t;
	struct kmb_tpl_kernel *kv;
	size_t nk;
	char err[1024];
	char *dir = kmb_xasprintf("%s/%s", catalogue, name);
	int r = kmb_template_load(dir, &t, err, sizeof(err));

	free(dir);
	if (r < 0) {
		kmb_err("%s", err);
		return -1;
	}
	if (!matches(t, word)) {
		kmb_template_free(t);
		return 0;
	}
	kmb_template_fit(ctx, t, &kv, &nk);
	if (ctx->json)
		json_template(j, t, kv, nk);
	else
		print_row(ctx, t, kv, nk, first);
	kmb_tpl_kernels_free(kv, nk);
	kmb_template_free(t);
	return 1;
}

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option own[] = {{"json", no_argument, NULL, 'J'}, {0}};
	struct kmb_cli_parser p;
	struct kmb_strv names = {0};
	struct kmb_json j;
	int c, rc = 0;
	size_t shown = 0;

	kmb_cli_parser_init(&p, &kmb_cmd_search, 0, NULL, own);
	while ((c = kmb_cli_next_opt(&p, argc, argv)) > 0)
		ctx->json = true; /* --json, the only own option */
	if (c < 0)
		return p.exit;
	if (argc - optind > 1) {
		kmb_err("search takes at most one WORD");
		return KMB_EXIT_USAGE;
	}
	const char *word = optind < argc ? argv[optind] : NULL;
	char *catalogue = kmb_template_catalogue(ctx);
	int r = kmb_template_names(catalogue, &names);
	if (r < 0) {
		kmb_err("%s: cannot read the template catalogue: %s", catalogue, strerror(-r));
		free(catalogue);
		return KMB_EXIT_NOTFOUND;
	}
	if (ctx->json) {
		kmb_json_init(&j, stdout);
		kmb_json_arr_begin(&j, NULL);
	}
	for (size_t i = 0; i < names.n; i++) {
		r = show(ctx, &j, catalogue, names.v[i], word, shown == 0);
		if (r < 0)
			rc = KMB_EXIT_BADCONF;
		else
			shown += (size_t)r;
	}
	if (ctx->json) {
		kmb_json_arr_end(&j);
		kmb_json_finish(&j);
	}
	if (!shown && word && !rc) {
		char *sug = kmb_cli_template_suggest(&names, word);
		if (sug)
			kmb_err("no template matches '%s' (did you mean: %s?)", word, sug);
		else
			kmb_err("no template matches '%s'", word);
		free(sug);
		rc = KMB_EXIT_NOTFOUND;
	}
	kmb_strv_free(&names);
	free(catalogue);
	return rc;
}

const struct kmb_cmd kmb_cmd_search = {
	.name = "search",
	.run = run,
	.usage = "search [WORD] [--json]",
	.help = "list module templates (kmbuild add NAME) and whether the installed kernels need "
		"them",
};
