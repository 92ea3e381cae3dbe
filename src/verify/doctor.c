// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * `kmbuild doctor`: turn the kernel's terse refusals into an explanation and a fix. The log
 * messages matched here are the 6.1 kernel's (kernel/module/main.c, version.c, signing.c)
 * and kmod's modprobe; facts come from the same kernel description `verify` uses.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509.h>

#include "verify/doctor.h"
#include "sign/efivars.h"
#include "base/json.h"
#include "kernel/kernel.h"
#include "verify/modfile.h"
#include "sign/mok.h"
#include "core/state.h"
#include "base/util.h"
#include "verify/verify.h"

/* ---- parsing ----------------------------------------------------------------------------------
 */

/* The message without syslog/journal prefix and dmesg timestamp. */
static char *message_of(char *line)
{
	char *p;

	if ((p = strstr(line, " kernel: ")))
		line = p + strlen(" kernel: ");
	else if ((p = strstr(line, "]: ")) &&
		 (strstr(line, "modprobe[") || strstr(line, "systemd-modules-load[") ||
		  strstr(line, "insmod[")))
		line = p + 3;
	while (*line == ' ' || *line == '<')
		line += *line == '<' ? strcspn(line, ">") + (line[strcspn(line, ">")] ? 1 : 0) : 1;
	if (*line == '[') {
		char *e = strchr(line, ']');
		if (e)
			line = e + 1;
		while (*line == ' ')
			line++;
	}
	return line;
}

/* Copy of the text between the end of prefix and the first of the stop characters. */
static char *take(const char *s, const char *prefix, const char *stop)
{
	const char *p = strstr(s, prefix);

	if (!p)
		return NULL;
	p += strlen(prefix);
	return kmb_xstrndup(p, strcspn(p, stop));
}

/* "NAME: rest" at the start of a kernel message: the module name. */
static char *leading_module(const char *msg, const char *marker)
{
	const char *p = strstr(msg, marker);

	if (!p || p == msg)
		return NULL;
	return kmb_xstrndup(msg, (size_t)(p - msg));
}

static void push(struct kmb_logevent **v, size_t *n, size_t *cap, struct kmb_logevent e)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = kmb_xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = e;
}

/* A part of a message: the text after prefix up to one of the stop characters. */
struct msgfield {
	const char *prefix, *stop;
};

/*
 * The messages explained, in the order they are tried: found by marker (and also, after it),
 * the fields taken from the marker on. The kernel's messages start with the module's name up
 * to lead; modprobe, insmod and systemd-modules-load name it in a field.
 */
static const struct msgpattern {
	enum kmb_lkind kind;
	const char *marker, *also, *lead;
	struct msgfield module, symbol, a, b;
	bool module_is_path; /* insmod names the file */
} msg_patterns[] = {
	{.kind = KMB_LK_CRC,
	 .marker = ": disagrees about version of symbol ",
	 .lead = ": disagrees",
	 .symbol = {"of symbol ", " \t\r"}},
	{.kind = KMB_LK_UNKNOWN_SYM,
	 .marker = ": Unknown symbol ",
	 .also = "(err ",
	 .lead = ": Unknown symbol ",
	 .symbol = {": Unknown symbol ", " \t"}},
	{.kind = KMB_LK_VERMAGIC,
	 .marker = ": version magic '",
	 .also = "' should be '",
	 .lead = ": version magic '",
	 .a = {": version magic '", "'"},
	 .b = {"' should be '", "'"}},
	{.kind = KMB_LK_UNSIGNED, .marker = "Loading of unsigned module is rejected"},
	{.kind = KMB_LK_BADKEY, .marker = "Loading of module with unavailable key is rejected"},
	{.kind = KMB_LK_BADCRYPTO,
	 .marker = "Loading of module with unsupported crypto is rejected"},
	{.kind = KMB_LK_SIG_TAINT,
	 .marker = ": module verification failed: ",
	 .lead = ": module verification failed: "},
	{.kind = KMB_LK_LICENSE,
	 .marker = ": module license '",
	 .also = "' taints kernel",
	 .lead = ": module license '",
	 .a = {": module license '", "'"}},
	{.kind = KMB_LK_NAMESPACE,
	 .marker = ": module uses symbol (",
	 .also = "from namespace ",
	 .lead = ": module uses symbol (",
	 .symbol = {"uses symbol (", ")"},
	 .a = {"from namespace ", ", \t"}},
	{.kind = KMB_LK_NOT_FOUND,
	 .marker = "FATAL: Module ",
	 .also = " not found in directory ",
	 .module = {"FATAL: Module ", " "},
	 .a = {" not found in directory ", " \t\r"}},
	{.kind = KMB_LK_INSERT,
	 .marker = "could not insert '",
	 .module = {"could not insert '", "'"},
	 .a = {"': ", "\r"}},
	{.kind = KMB_LK_INSERT,
	 .marker = "could not insert module ",
	 .module = {"could not insert module ", ":"},
	 .a = {": ", "\r"},
	 .module_is_path = true},
	{.kind = KMB_LK_LOAD_FAILED,
	 .marker = "Failed to insert module '",
	 .module = {"Failed to insert module '", "'"},
	 .a = {"': ", "\r"}},
	{.kind = KMB_LK_LOCKDOWN,
	 .marker = "Lockdown: ",
	 .also = "unsigned module loading is restricted",
	 .a = {"Lockdown: ", ":"}},
};

static char *take_field(const char *p, struct msgfield f)
{
	return f.prefix ? take(p, f.prefix, f.stop) : NULL;
}

/* Fill e from the first pattern msg matches; false when it is no module load message. A
 * modprobe directory names the kernel when the log does not say "Linux version". */
static bool parse_msg(const char *msg, struct kmb_logevent *e, char **release)
{
	const struct msgpattern *pat = NULL;
	const char *p = NULL;

	for (size_t i = 0; i < KMB_ARRAY_SIZE(msg_patterns) && !pat; i++) {
		p = strstr(msg, msg_patterns[i].marker);
		if (p && (!msg_patterns[i].also || strstr(p, msg_patterns[i].also)))
			pat = &msg_patterns[i];
	}
	if (!pat)
		return false;
	e->kind = pat->kind;
	e->module = pat->lead ? leading_module(msg, pat->lead) : take_field(p, pat->module);
	e->symbol = take_field(p, pat->symbol);
	e->a = take_field(p, pat->a);
	e->b = take_field(p, pat->b);
	if (pat->module_is_path && e->module) {
		char nb[256];
		kmb_module_name_from_path(e->module, nb, sizeof(nb));
		free(e->module);
		e->module = kmb_xstrdup(nb);
	}
	if (e->kind == KMB_LK_UNKNOWN_SYM)
		e->err = abs(atoi(strstr(p, "(err ") + 5));
	const char *lm = e->kind == KMB_LK_NOT_FOUND && e->a ? strstr(e->a, "/lib/modules/") : NULL;
	if (!*release && lm && lm[13])
		*release = kmb_xstrndup(lm + 13, strcspn(lm + 13, "/"));
	return true;
}

int kmb_doctor_parse_log(const char *text, struct kmb_logevent **out, size_t *n, char **release)
{
	char *copy = kmb_xstrdup(text), *line, *save = NULL;
	struct kmb_logevent *v = NULL;
	size_t cnt = 0, cap = 0, lineno = 0;

	*release = NULL;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct kmb_logevent e = {.line = ++lineno};
		char *msg = message_of(line);
		char *p;

		if (!*release && (p = strstr(msg, "Linux version ")))
			*release = take(p, "Linux version ", " ");
		if (!parse_msg(msg, &e, release))
			continue;
		if (e.module)
			for (char *c = e.module; *c; c++)
				*c = *c == '-' ? '_' : *c;
		e.text = kmb_xstrdup(msg);
		push(&v, &cnt, &cap, e);
	}
	free(copy);
	*out = v;
	*n = cnt;
	return 0;
}

void kmb_logevents_free(struct kmb_logevent *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].module);
		free(v[i].symbol);
		free(v[i].a);
		free(v[i].b);
		free(v[i].text);
	}
	free(v);
}

/* ---- context: which kernel, which package -----------------------------------------------------
 */

struct doc {
	const struct kmb_ctx *ctx;
	struct kmb_kernel *k;
	struct kmb_vkernel *vk;
	struct kmb_findings sysf; /* what kmb_vkernel_open noticed: not shown */
	struct kmb_json j;
	bool json;
	size_t problems;
	struct kmb_strv told; /* facts already printed */
};

/* The package a root-relative file belongs to: kmbuild's state first, then dpkg's lists. */
static char *owner_package(const struct doc *d, const char *rel)
{
	struct kmb_entry *e = NULL;
	size_t n = 0;
	char *res = NULL;

	kmb_state_list(d->ctx, NULL, NULL, d->k->release, &e, &n);
	for (size_t i = 0; i < n && !res; i++) {
		struct kmb_installed_file *f = NULL;
		size_t nf = 0;
		if (!e[i].kernel || e[i].state != KMB_ST_INSTALLED)
			continue;
		kmb_state_installed_files(d->ctx, e[i].name, e[i].version, e[i].kernel, e[i].arch,
					  &f, &nf);
		for (size_t j = 0; j < nf && !res; j++)
			if (strcmp(f[j].path, rel) == 0)
				res = kmb_xasprintf("kmbuild package %s/%s", e[i].name,
						    e[i].version);
		kmb_installed_files_free(f, nf);
	}
	kmb_entries_free(e, n);
	if (res)
		return res;

	char *dir = kmb_root_path(d->ctx, "/var/lib/dpkg/info");
	DIR *dd = opendir(dir);
	struct dirent *de;
	char *usr = kmb_xasprintf("/usr%s", rel);
	while (dd && !res && (de = readdir(dd))) {
		if (!kmb_endswith(de->d_name, ".list"))
			continue;
		char *p = kmb_xasprintf("%s/%s", dir, de->d_name), *data = NULL, *line, *sv = NULL;
		if (kmb_read_file(p, &data, NULL) == 0) {
			for (line = strtok_r(data, "\n", &sv); line && !res;
			     line = strtok_r(NULL, "\n", &sv))
				if (strcmp(line, rel) == 0 || strcmp(line, usr) == 0)
					res = kmb_xasprintf("Debian package %.*s",
							    (int)(strlen(de->d_name) - 5),
							    de->d_name);
		}
		free(data);
		free(p);
	}
	if (dd)
		closedir(dd);
	free(usr);
	free(dir);
	return res;
}

static const char *rel_of(const struct doc *d, const char *abs)
{
	size_t rl = strlen(d->ctx->root);
	return strncmp(abs, d->ctx->root, rl) == 0 ? abs + rl : abs;
}

/* "(Debian 12.2.0-14+deb12u1) 12.2.0" out of either "GCC: (...) 12.2.0" or "gcc-12 (...) ...". */
static const char *compiler_core(const char *s)
{
	const char *p = s ? strchr(s, '(') : NULL;
	return p ? p : s;
}

/* ---- output -----------------------------------------------------------------------------------
 */

/* Takes what and fix (malloc'd). */
static void problem(struct doc *d, const char *module, const char *kind, size_t line,
		    const char *logged, char *what, char *fix)
{
	d->problems++;
	if (d->json) {
		kmb_json_obj_begin(&d->j, NULL);
		kmb_json_str(&d->j, "module", module);
		kmb_json_str(&d->j, "kind", kind);
		if (line)
			kmb_json_int(&d->j, "line", (long long)line);
		kmb_json_str(&d->j, "logged", logged);
		kmb_json_str(&d->j, "explanation", what);
		kmb_json_str(&d->j, "fix", fix);
		kmb_json_obj_end(&d->j);
	} else {
		printf("\n%s: %s\n", module ? module : "(module not named by the kernel)", kind);
		if (logged && line)
			printf("  logged:  %s (line %zu)\n", logged, line);
		else if (logged)
			printf("  logged:  %s\n", logged);
		printf("  why:     %s\n", what);
		if (fix)
			printf("  fix:     %s\n", fix);
	}
	free(what);
	free(fix);
}

static void fact(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fact(struct doc *d, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (kmb_strv_contains(&d->told, buf))
		return;
	kmb_strv_push(&d->told, buf);
	if (!d->json)
		printf("  - %s\n", buf);
}

/* Facts about one module file of K: who built it for what, who ships it, compiler. */
static void module_facts(struct doc *d, const struct kmb_modfile *m)
{
	char *pkg = owner_package(d, rel_of(d, m->path));
	const char *kcc =
		d->vk->config ? d->vk->config(d->vk->config_data, "CONFIG_CC_VERSION_TEXT") : NULL;

	fact(d, "%s: %s", rel_of(d, m->path), pkg ? pkg : "not from a known package");
	if (m->vermagic)
		fact(d, "%s was built for %.*s", m->name ? m->name : m->path,
		     (int)strcspn(m->vermagic, " "), m->vermagic);
	if (m->compiler && kcc && strcmp(compiler_core(m->compiler), compiler_core(kcc)) != 0)
		fact(d, "compiled with '%s', %s with '%s': rebuild with the kernel's compiler",
		     m->compiler, d->k->release, kcc);
	free(pkg);
}

/* ---- explaining log events --------------------------------------------------------------------
 */

static char *rebuild_fix(struct doc *d, const char *module)
{
	const struct kmb_modfile *m = module ? kmb_vkernel_module(d->vk, module) : NULL;
	char *pkg = m ? owner_package(d, rel_of(d, m->path)) : NULL;
	char *fix;

	if (pkg && kmb_startswith(pkg, "kmbuild package "))
		fix = kmb_xasprintf("kmbuild build %s -k %s --force && kmbuild install %s -k %s "
				    "--force",
				    pkg + 16, d->k->release, pkg + 16, d->k->release);
	else if (pkg)
		fix = kmb_xasprintf("install the version of %s built for %s", pkg + 15,
				    d->k->release);
	else
		fix = kmb_xasprintf(
			"rebuild %s against %s's headers (kmbuild headers %s gets them)",
			module ? module : "the module", d->k->release, d->k->release);
	free(pkg);
	return fix;
}

static char *depmod_fix(const struct doc *d)
{
	return kmb_verify_depmod_fix(d->ctx->root, d->k->release);
}

static void signing_facts(struct doc *d)
{
	struct kmb_keypair kp;
	char err[512];
	X509 *x = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	struct kmb_efi_state st;

	if (kmb_keypair_discover(d->ctx, &kp, err, sizeof(err)) == 0) {
		if (kmb_cert_load(kp.cert, &x, err, sizeof(err)) == 0)
			kmb_cert_der(x, &der, &der_len);
		fact(d, "signing key: %s (%s)", rel_of(d, kp.cert), kp.origin);
		kmb_keypair_free(&kp);
	} else {
		fact(d, "no signing key configured: kmbuild mok generate makes one");
	}
	kmb_efi_state_read(d->ctx, der, der_len, &st);
	if (!st.efi)
		fact(d, "not booted with UEFI: no Secure Boot, MOK keys do not apply");
	else
		fact(d, "Secure Boot is %s%s",
		     st.secure_boot == 1   ? "on"
		     : st.secure_boot == 0 ? "off"
					   : "unknown",
		     st.setup_mode == 1 ? " (setup mode)" : "");
	if (der) {
		if (st.enrolled == 1)
			fact(d, "the signing key is enrolled (MokListRT)");
		else if (st.pending == 1)
			fact(d,
			     "the signing key is waiting for enrolment: reboot and confirm it in "
			     "MokManager");
		else if (st.enrolled == 0)
			fact(d, "the signing key is NOT enrolled: kmbuild mok enroll");
	}
	free(der);
	X509_free(x);
}

/* Modules named by an event that has none (signature rejections): the insert error nearby. */
static const char *nearby_module(const struct kmb_logevent *v, size_t n, size_t i)
{
	for (size_t d = 1; d <= 3; d++) {
		if (i + d < n && v[i + d].module && v[i + d].kind == KMB_LK_INSERT)
			return v[i + d].module;
		if (i >= d && v[i - d].module && v[i - d].kind == KMB_LK_INSERT)
			return v[i - d].module;
	}
	return NULL;
}

/* The first of v[0..n) of this kind about the same module (and symbol, when one is given). */
static const struct kmb_logevent *same_module_event(const struct kmb_logevent *v, size_t n,
						    enum kmb_lkind kind, const char *module,
						    const char *symbol)
{
	for (size_t j = 0; j < n; j++)
		if (v[j].kind == kind && v[j].module && module &&
		    strcmp(v[j].module, module) == 0 &&
		    (!symbol || (v[j].symbol && strcmp(v[j].symbol, symbol) == 0)))
			return &v[j];
	return NULL;
}

/* Nothing exports the symbol: a dependency the module names is missing, or it was built for
 * another kernel. */
static void explain_unresolved(struct doc *d, const struct kmb_logevent *e,
			       const struct kmb_modfile *m)
{
	char *miss = m ? kmb_vkernel_missing_depends(d->vk, m) : NULL;

	if (!miss) {
		problem(d, e->module, "unknown symbol", e->line, e->text,
			kmb_xasprintf("nothing in %s exports %s: neither the kernel nor any "
				      "of its modules. The module was built for another "
				      "kernel or configuration.",
				      d->k->release, e->symbol),
			rebuild_fix(d, e->module));
		return;
	}
	char *dm = depmod_fix(d);
	problem(d, e->module, "needed module not installed", e->line, e->text,
		kmb_xasprintf("%s comes from %s, which the module depends on but which "
			      "is not installed for %s.",
			      e->symbol, miss, d->k->release),
		kmb_xasprintf("install %s for %s (kmbuild install <module> -k %s), "
			      "then %s",
			      miss, d->k->release, d->k->release, dm));
	free(dm);
	free(miss);
}

/* A module of K exports the symbol: modprobe did not load it first, or it is gone. */
static void explain_provider(struct doc *d, const struct kmb_logevent *e, const struct kmb_ksym *k)
{
	const struct kmb_modfile *pm = kmb_vkernel_module(d->vk, k->owner);
	char *dm = depmod_fix(d);

	if (pm) {
		char *pkg = owner_package(d, rel_of(d, pm->path));
		problem(d, e->module, "provider module not loaded first", e->line, e->text,
			kmb_xasprintf("%s is exported by %s (%s, %s), which modprobe did not load "
				      "first: modules.dep does not list it as a dependency.",
				      e->symbol, k->owner, rel_of(d, pm->path),
				      pkg ? pkg : "no known package"),
			dm);
		free(pkg);
		return;
	}
	problem(d, e->module, "provider module missing", e->line, e->text,
		kmb_xasprintf("%s is exported by module %s, which is not installed for %s "
			      "(or modules.dep points at a file that is gone).",
			      e->symbol, k->owner, d->k->release),
		kmb_xasprintf("install %s for %s, then %s", k->owner, d->k->release, dm));
	free(dm);
}

static void explain_unknown(struct doc *d, const struct kmb_logevent *e,
			    const struct kmb_logevent *v, size_t n)
{
	const struct kmb_ksym *k = kmb_vkernel_resolve(d->vk, e->symbol);
	const struct kmb_modfile *m = e->module ? kmb_vkernel_module(d->vk, e->module) : NULL;
	const struct kmb_logevent *lic = same_module_event(v, n, KMB_LK_LICENSE, e->module, NULL);
	const char *license = m && m->license ? m->license : lic ? lic->a : NULL;

	if (!k) {
		explain_unresolved(d, e, m);
		return;
	}
	if (k->gpl && license && !kmb_license_is_gpl_compatible(license)) {
		problem(d, e->module, "GPL-only symbol in a non-GPL module", e->line, e->text,
			kmb_xasprintf(
				"%s exports %s with EXPORT_SYMBOL_GPL, and the module's "
				"license is '%s'. The kernel hides GPL-only symbols from such "
				"modules and reports them as unknown; it never says 'GPL'.",
				k->owner, e->symbol, license),
			kmb_xasprintf("the module's vendor must stop using %s or change "
				      "MODULE_LICENSE; a newer release of the module may fix it",
				      e->symbol));
		return;
	}
	if (strcmp(k->owner, "vmlinux") == 0) {
		problem(d, e->module, "unknown symbol", e->line, e->text,
			kmb_xasprintf("%s exports %s today, so the kernel that logged this was "
				      "another one (or another configuration) than %s.",
				      d->k->release, e->symbol, d->k->release),
			rebuild_fix(d, e->module));
		return;
	}
	explain_provider(d, e, k);
}

static void explain_crc(struct doc *d, const struct kmb_logevent *e, const struct kmb_modfile *m)
{
	if (strcmp(e->symbol, "module_layout") == 0) {
		problem(d, e->module, "built for another kernel ABI", e->line, e->text,
			kmb_xasprintf("the module's CRC of module_layout (the layout of struct "
				      "module) is not %s's: it was built against the headers "
				      "of another kernel%s%.*s. With CONFIG_MODVERSIONS the CRCs "
				      "decide, not the version string.",
				      d->k->release, m && m->vermagic ? ", " : "",
				      m && m->vermagic ? (int)strcspn(m->vermagic, " ") : 0,
				      m && m->vermagic ? m->vermagic : ""),
			rebuild_fix(d, e->module));
		return;
	}
	const struct kmb_ksym *k = kmb_vkernel_resolve(d->vk, e->symbol);
	problem(d, e->module, "symbol version (CRC) mismatch", e->line, e->text,
		kmb_xasprintf("the module was built against a %s whose %s had another "
			      "type; the kernel refuses it with 'Invalid argument'.",
			      k ? k->owner : "kernel", e->symbol),
		rebuild_fix(d, e->module));
}

static void explain_vermagic(struct doc *d, const struct kmb_logevent *e)
{
	const char *flags_a = strchr(e->a, ' '), *flags_b = strchr(e->b, ' ');

	problem(d, e->module, "built for another kernel", e->line, e->text,
		kmb_xasprintf("the module was built for '%s' but the kernel is '%s'%s.", e->a, e->b,
			      strcmp(flags_a ? flags_a : "", flags_b ? flags_b : "")
				      ? "; even the build flags differ"
				      : " and the module has no symbol versions"),
		rebuild_fix(d, e->module));
}

/* The kernel's refusals of a signature name no module: modprobe's error nearby does. */
static void explain_signature(struct doc *d, const struct kmb_logevent *v, size_t n, size_t i)
{
	const struct kmb_logevent *e = &v[i];
	const char *why =
		e->kind == KMB_LK_UNSIGNED
			? "the module carries no signature and the kernel enforces signatures "
			  "(module.sig_enforce=1, or Secure Boot lockdown)"
		: e->kind == KMB_LK_BADKEY
			? "the module is signed, but with a key the kernel does not trust: "
			  "MOK keys count only when Secure Boot is on and the key is enrolled"
		: e->kind == KMB_LK_BADCRYPTO
			? "the signature uses a hash the kernel was built without"
			: "the kernel is locked down and refuses unsigned modules";

	problem(d, nearby_module(v, n, i), "signature rejected", e->line, e->text, kmb_xstrdup(why),
		kmb_xstrdup(e->kind == KMB_LK_BADKEY
				    ? "kmbuild mok enroll (then confirm in MokManager at "
				      "the next boot), or kmbuild resign with an enrolled key"
				    : "kmbuild resign -k <kernel> (signs with the MOK key), "
				      "then kmbuild mok status"));
	signing_facts(d);
}

static void explain_sig_taint(struct doc *d, const struct kmb_logevent *e)
{
	problem(d, e->module, "loaded unsigned or with an untrusted key", e->line, e->text,
		kmb_xstrdup("the module loaded, but the kernel could not verify its "
			    "signature and tainted itself. With Secure Boot on it would "
			    "have been refused."),
		kmb_xstrdup("kmbuild resign, and enroll the key (kmbuild mok enroll)"));
	signing_facts(d);
}

static void explain_namespace(struct doc *d, const struct kmb_logevent *e)
{
	problem(d, e->module, "symbol namespace not imported", e->line, e->text,
		kmb_xasprintf("%s lives in namespace %s, which the module does not import.",
			      e->symbol, e->a),
		kmb_xasprintf("add MODULE_IMPORT_NS(%s) to the module's source and rebuild", e->a));
}

static void explain_not_found(struct doc *d, const struct kmb_logevent *e)
{
	char *dm = depmod_fix(d);

	problem(d, e->module, "not in modules.dep", e->line, e->text,
		kmb_xasprintf("modprobe looks modules up in modules.dep(.bin) of %s, which "
			      "has no %s: it was never installed for this kernel, or "
			      "installed without running depmod afterwards.",
			      d->k->release, e->module),
		kmb_xasprintf("kmbuild install %s -k %s if kmbuild manages it; else %s", e->module,
			      d->k->release, dm));
	free(dm);
}

/* modprobe's summary of a failure the log explains elsewhere: by the kernel's own line about
 * the module, a signature refusal next to it, or an earlier summary. */
static bool insert_explained(const struct kmb_logevent *v, size_t n, size_t i)
{
	const struct kmb_logevent *e = &v[i];

	for (size_t j = 0; j < n; j++)
		if (j != i && v[j].module && e->module && strcmp(v[j].module, e->module) == 0 &&
		    v[j].kind != KMB_LK_INSERT && v[j].kind != KMB_LK_LOAD_FAILED &&
		    v[j].kind != KMB_LK_LICENSE)
			return true;
	for (size_t j = 0; j < n; j++)
		if ((v[j].kind == KMB_LK_UNSIGNED || v[j].kind == KMB_LK_BADKEY ||
		     v[j].kind == KMB_LK_BADCRYPTO) &&
		    nearby_module(v, n, j) == e->module)
			return true;
	return same_module_event(v, i, e->kind, e->module, NULL) != NULL;
}

/* What modprobe's error text (strerror of the kernel's refusal) means. */
static const char *insert_error_meaning(const char *err)
{
	static const struct {
		const char *err, *why;
	} meanings[] = {
		{"Exec format error",
		 "the kernel rejected the file's format: built for another kernel (vermagic or "
		 "module_layout CRC), another architecture, or compressed in a way this kmod "
		 "cannot read"},
		{"Key was rejected", "the signature was rejected (unsigned, or signed with an "
				     "untrusted key, while signatures are enforced)"},
		{"Unknown symbol", "a symbol the module needs is not exported by the running "
				   "kernel or any loaded module"},
		{"Invalid argument", "a symbol version (CRC) or namespace did not match, or a "
				     "module parameter is invalid"},
		{"Operation not permitted", "module loading is disabled "
					    "(kernel.modules_disabled=1) or restricted by "
					    "lockdown"},
	};

	for (size_t i = 0; i < KMB_ARRAY_SIZE(meanings); i++)
		if (strstr(err, meanings[i].err))
			return meanings[i].why;
	return "see the kernel log for the kernel's own reason";
}

static void explain_insert(struct doc *d, const struct kmb_logevent *v, size_t n, size_t i,
			   const struct kmb_modfile *m)
{
	const struct kmb_logevent *e = &v[i];

	if (insert_explained(v, n, i))
		return;
	problem(d, e->module, "modprobe could not insert it", e->line, e->text,
		kmb_xstrdup(insert_error_meaning(e->a ? e->a : "")),
		m ? kmb_xasprintf("kmbuild doctor %s -k %s explains the file", rel_of(d, m->path),
				  d->k->release)
		  : kmb_xasprintf("kmbuild verify -k %s", d->k->release));
}

static void explain_event(struct doc *d, const struct kmb_logevent *v, size_t n, size_t i)
{
	const struct kmb_logevent *e = &v[i];
	const struct kmb_modfile *m = e->module ? kmb_vkernel_module(d->vk, e->module) : NULL;
	size_t before = d->problems;

	switch (e->kind) {
	case KMB_LK_CRC:
		explain_crc(d, e, m);
		break;
	case KMB_LK_UNKNOWN_SYM:
		/* err -22 follows a CRC mismatch of the same symbol: already explained. */
		if (!e->symbol || !same_module_event(v, i, KMB_LK_CRC, e->module, e->symbol))
			explain_unknown(d, e, v, n);
		break;
	case KMB_LK_VERMAGIC:
		explain_vermagic(d, e);
		break;
	case KMB_LK_UNSIGNED:
	case KMB_LK_BADKEY:
	case KMB_LK_BADCRYPTO:
	case KMB_LK_LOCKDOWN:
		explain_signature(d, v, n, i);
		break;
	case KMB_LK_SIG_TAINT:
		explain_sig_taint(d, e);
		break;
	case KMB_LK_NAMESPACE:
		explain_namespace(d, e);
		break;
	case KMB_LK_NOT_FOUND:
		explain_not_found(d, e);
		break;
	case KMB_LK_INSERT:
	case KMB_LK_LOAD_FAILED:
		explain_insert(d, v, n, i, m);
		break;
	case KMB_LK_LICENSE:
	case KMB_LK_N:
		break;
	}
	if (m && d->problems > before)
		module_facts(d, m);
}

/* ---- the three sources ------------------------------------------------------------------------
 */

static int doctor_log(struct doc *d, const char *text, const char *source)
{
	struct kmb_logevent *v;
	size_t n;
	char *rel = NULL;

	kmb_doctor_parse_log(text, &v, &n, &rel);
	free(rel);
	if (!d->json)
		printf("%s: %zu module load message%s, explained for %s\n", source, n,
		       n == 1 ? "" : "s", d->k->release);
	for (size_t i = 0; i < n; i++)
		explain_event(d, v, n, i);
	kmb_logevents_free(v, n);
	return 0;
}

static void doctor_file(struct doc *d, const char *path)
{
	struct kmb_modfile *m;
	char *err = NULL, nb[256];
	struct kmb_findings f = {0};

	if (kmb_modfile_open(path, &m, &err) < 0) {
		problem(d, NULL, "unreadable module file", 0, NULL, err,
			kmb_xstrdup("rebuild or reinstall the module"));
		return;
	}
	const char *name = kmb_modfile_modname(m, nb, sizeof(nb));
	struct kmb_vsubject s = {.kernel = d->k->release, .module = name, .path = path};
	char *real = realpath(path, NULL);
	bool in_tree = real && d->k->modules_dir && kmb_startswith(real, d->k->modules_dir);
	struct kmb_keypair kp;
	char kerr[512];
	bool managed = kmb_keypair_discover(d->ctx, &kp, kerr, sizeof(kerr)) == 0;
	if (managed)
		kmb_keypair_free(&kp);

	kmb_vkernel_add_exports(d->vk, m, NULL);
	kmb_verify_vermagic(d->vk, m, &s, &f);
	kmb_verify_symbols(d->vk, m, &s, true, &f);
	if (in_tree)
		kmb_verify_indexes(d->vk, m, real, &s, true, &f);
	kmb_verify_signature(d->vk, m, &s, managed && m->sig.state != KMB_SIG_NONE, &f);
	if (!d->json)
		printf("%s (%s) on %s:\n", path, name, d->k->release);
	for (size_t i = 0; i < f.n; i++) {
		if (f.v[i].sev == KMB_VS_INFO)
			continue;
		problem(d, name, kmb_vclass_name(f.v[i].cls), 0, NULL, kmb_xstrdup(f.v[i].msg),
			f.v[i].fix ? kmb_xstrdup(f.v[i].fix) : NULL);
	}
	if (!d->json) {
		if (!d->problems)
			printf("  no problem found: %s should load this module\n", d->k->release);
		printf("facts:\n");
	}
	module_facts(d, m);
	kmb_modfile_sig_details(m);
	if (m->sig.state == KMB_SIG_OK)
		fact(d, "signed by '%s' (key %s, %s)", m->sig.signer ? m->sig.signer : "?",
		     m->sig.key_id ? m->sig.key_id : "?",
		     m->sig.hash_algo ? m->sig.hash_algo : "?");
	else
		fact(d, "not signed");
	if (m->sig.state != KMB_SIG_NONE || d->vk->sig_enforced)
		signing_facts(d);
	free(real);
	kmb_findings_free(&f);
	kmb_modfile_free(m);
}

static char *pick_kernel(const struct doc *d, const char *want, const char *from_log)
{
	if (want)
		return kmb_xstrdup(want);
	if (from_log)
		return kmb_xstrdup(from_log);
	char *run = (char *)kmb_running_release();
	char *dir = kmb_xasprintf("%s/%s", d->ctx->modules_dir, run);
	bool ok = kmb_is_dir(dir);
	free(dir);
	if (ok)
		return run;
	free(run);
	return kmb_verify_default_kernel(d->ctx);
}

/* The kernel log of the current boot from the journal (of the root's journal directory). */
static int read_journal(const struct kmb_ctx *ctx, char **text)
{
	char *jdir = kmb_root_path(ctx, "/var/log/journal");
	const char *argv_root[] = {"journalctl", "-k", "-b", "--no-pager", "-o",
				   "short",	 "-D", jdir, NULL};
	const char *argv_sys[] = {"journalctl", "-k", "-b", "--no-pager", "-o", "short", NULL};
	int r = kmb_run_capture(*ctx->root ? argv_root : argv_sys, NULL, text);

	free(jdir);
	if (r != 0 || !*text) {
		kmb_err("journalctl -k failed (exit %d): is systemd-journald keeping a "
			"journal?",
			r);
		free(*text);
		*text = NULL;
		return KMB_EXIT_FAIL;
	}
	return 0;
}

/* What to explain: *text is the log (NULL for a module file), *source names it. Returns 0 or
 * a KMB_EXIT_* code. */
static int read_source(const struct kmb_ctx *ctx, const struct kmb_doctor_opts *o, char **text,
		       char **source)
{
	struct stat st;
	int rc;

	*text = NULL;
	if (o->dmesg) {
		if (kmb_read_file(o->dmesg, text, NULL) < 0) {
			kmb_err("%s: %s", o->dmesg, strerror(errno));
			return KMB_EXIT_NOTFOUND;
		}
		*source = kmb_xstrdup(o->dmesg);
	} else if (o->journal) {
		if ((rc = read_journal(ctx, text)) != 0)
			return rc;
		*source = kmb_xstrdup("journalctl -k -b");
	} else if (o->file) {
		if (stat(o->file, &st) < 0) {
			kmb_err("%s: %s", o->file, strerror(errno));
			return KMB_EXIT_NOTFOUND;
		}
		*source = kmb_xstrdup(o->file);
	} else {
		kmb_err("doctor needs FILE.ko, --dmesg FILE or --journal");
		return KMB_EXIT_USAGE;
	}
	return 0;
}

/* The kernel a log names ("Linux version", a modprobe directory), or NULL. */
static char *release_in_log(const char *text)
{
	struct kmb_logevent *v;
	size_t n;
	char *release = NULL;

	if (text) {
		kmb_doctor_parse_log(text, &v, &n, &release);
		kmb_logevents_free(v, n);
	}
	return release;
}

static void report_begin(struct doc *d, const char *source, const char *release)
{
	if (!d->json)
		return;
	kmb_json_init(&d->j, stdout);
	kmb_json_obj_begin(&d->j, NULL);
	kmb_json_str(&d->j, "source", source);
	kmb_json_str(&d->j, "kernel", release);
	kmb_json_arr_begin(&d->j, "problems");
}

static void report_end(struct doc *d, bool log, const char *release)
{
	if (!d->json) {
		if (log && !d->problems)
			printf("no module load failure in it\n");
		if (!d->k->headers_dir)
			printf("note: no headers for %s are installed; kmbuild cannot rebuild for "
			       "it "
			       "(kmbuild headers %s)\n",
			       release, release);
		return;
	}
	kmb_json_arr_end(&d->j);
	kmb_json_arr_begin(&d->j, "facts");
	for (size_t i = 0; i < d->told.n; i++)
		kmb_json_str(&d->j, NULL, d->told.v[i]);
	kmb_json_arr_end(&d->j);
	kmb_json_bool(&d->j, "headers_installed", d->k->headers_dir != NULL);
	kmb_json_obj_end(&d->j);
	kmb_json_finish(&d->j);
}

int kmb_doctor_run(const struct kmb_ctx *ctx, const struct kmb_doctor_opts *o)
{
	struct doc d = {.ctx = ctx, .json = o->json};
	char *text, *from_log, *release, *source;
	int rc = read_source(ctx, o, &text, &source);

	if (rc != 0)
		return rc;
	from_log = release_in_log(text);
	release = pick_kernel(&d, o->kernel, from_log);
	free(from_log);
	if (!release) {
		kmb_err("no kernel to explain against: none installed under '%s/lib/modules' (use "
			"-k)",
			ctx->root);
		free(text);
		free(source);
		return KMB_EXIT_NOTFOUND;
	}
	kmb_kernel_open(ctx, release, &d.k);
	kmb_vkernel_open(ctx, d.k, NULL, &d.vk, &d.sysf);
	report_begin(&d, source, release);
	if (text)
		doctor_log(&d, text, source);
	else
		doctor_file(&d, o->file);
	report_end(&d, text != NULL, release);
	rc = d.problems ? 1 : 0;
	kmb_strv_free(&d.told);
	kmb_findings_free(&d.sysf);
	kmb_vkernel_free(d.vk);
	kmb_kernel_free(d.k);
	free(release);
	free(text);
	free(source);
	return rc;
}
