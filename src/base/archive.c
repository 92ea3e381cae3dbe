// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Secure extraction with libarchive. libarchive's SECURE_* flags stop it writing through a
 * symlink or to an absolute/'..' path; on top of that every entry is checked here so the
 * error can name it, and after extraction every symlink is resolved inside dest_dir the way
 * the kernel would, because a link that is harmless alone ("s -> .") can make another
 * ("e -> s/..") leave the tree.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/archive.h"
#include "base/util.h"

#define KMB_MAX_SYMLINK_HOPS 40

struct xtract {
	const char *label; /* the archive, for messages */
	char *dest;	   /* realpath of dest_dir */
	bool rooted;	   /* package payload rooted at '/': rebase absolute symlink targets */
	bool track;	   /* dest existed before: remember what we create, for rollback */
	struct kmb_strv created;
	struct kmb_strv links; /* relative paths of the symlinks extracted */
	size_t n_entries;
	char *err;
	size_t errlen;
};

static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

static void __attribute__((format(printf, 3, 4)))
xerr(struct xtract *x, const char *entry, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!x->err || !x->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (entry)
		snprintf(x->err, x->errlen, "%s: entry '%s': %s", x->label, entry, msg);
	else
		snprintf(x->err, x->errlen, "%s: %s", x->label, msg);
	one_line(x->err);
}

/*
 * Normalise an archive path to "a/b/c" (no "./", no "//", no trailing '/'). Returns NULL for an
 * absolute path or one with a ".." component; "" stands for the archive root.
 */
static char *norm_rel(const char *in, const char **why)
{
	struct kmb_buf b = {0};
	const char *p = in;

	if (*in == '/') {
		*why = "absolute path";
		return NULL;
	}
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			kmb_buf_free(&b);
			*why = "'..' in path";
			return NULL;
		}
		if (n && !(n == 1 && p[0] == '.')) {
			if (b.len)
				kmb_buf_addc(&b, '/');
			kmb_buf_add(&b, p, n);
		}
		p = *e ? e + 1 : e;
	}
	return kmb_buf_steal(&b);
}

/* Depth of the directory holding rel ("a/b/c" -> 2). */
static size_t parent_depth(const char *rel)
{
	size_t d = 0;
	for (const char *p = rel; *p; p++)
		d += *p == '/';
	return d;
}

/*
 * Check a symlink target lexically from the link's directory. For a rooted payload an absolute
 * target is rewritten relative (so "/usr/src/x" stays inside dest). *out gets the target to
 * create (malloc'd) or NULL when it escapes.
 */
static char *link_target(const struct xtract *x, const char *rel, const char *target,
			 const char **why)
{
	size_t depth = parent_depth(rel);

	if (!*target) {
		*why = "empty symlink target";
		return NULL;
	}
	if (*target == '/') {
		if (!x->rooted) {
			*why = "symlink to an absolute path";
			return NULL;
		}
		/* Lexically from the root: "/.." is "/" for the kernel, but no package needs it. */
		char *abs = norm_rel(target + 1, why);
		if (!abs) {
			*why = "symlink target leaves the archive root";
			return NULL;
		}
		struct kmb_buf b = {0};
		for (size_t i = 0; i < depth; i++)
			kmb_buf_adds(&b, i ? "/.." : "..");
		if (*abs) {
			if (b.len)
				kmb_buf_addc(&b, '/');
			kmb_buf_adds(&b, abs);
		}
		if (!b.len)
			kmb_buf_adds(&b, ".");
		free(abs);
		return kmb_buf_steal(&b);
	}
	/* Walk the target's components from the link's directory; going above the root escapes. */
	size_t level = depth;
	for (const char *p = target; *p;) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (level == 0) {
				*why = "symlink target leaves the destination";
				return NULL;
			}
			level--;
		} else if (n && !(n == 1 && p[0] == '.')) {
			level++;
		}
		p = *e ? e + 1 : e;
	}
	return kmb_xstrdup(target);
}

/*
 * Resolve rel inside dest as the kernel would, with dest as the root, following symlinks.
 * Returns 0 when every step stays inside, -EXDEV when one leaves, -ELOOP on a loop.
 * Components that do not exist are taken lexically: they are not symlinks.
 */
static int jail_resolve(const char *dest, const char *rel)
{
	struct kmb_buf done = {0};
	char *todo = kmb_xstrdup(rel);
	int hops = 0, r = 0;

	while (*todo) {
		char *slash = strchr(todo, '/');
		char *comp = slash ? kmb_xstrndup(todo, (size_t)(slash - todo)) : kmb_xstrdup(todo);
		char *rest = kmb_xstrdup(slash ? slash + 1 : "");

		free(todo);
		todo = rest;
		if (!*comp || strcmp(comp, ".") == 0) {
			free(comp);
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			free(comp);
			if (!done.len) {
				r = -EXDEV;
				break;
			}
			char *s = strrchr(done.s, '/');
			done.len = s ? (size_t)(s - done.s) : 0;
			done.s[done.len] = '\0';
			continue;
		}
		char *path = kmb_xasprintf("%s/%s%s%s", dest, done.len ? done.s : "",
					   done.len ? "/" : "", comp);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
			char tgt[PATH_MAX];
			ssize_t n = readlink(path, tgt, sizeof(tgt) - 1);
			free(path);
			free(comp);
			if (n < 0 || ++hops > KMB_MAX_SYMLINK_HOPS) {
				r = n < 0 ? -errno : -ELOOP;
				break;
			}
			tgt[n] = '\0';
			if (tgt[0] == '/') {
				r = -EXDEV;
				break;
			}
			char *nt = kmb_xasprintf("%s/%s", tgt, todo);
			free(todo);
			todo = nt;
			continue;
		}
		free(path);
		if (done.len)
			kmb_buf_addc(&done, '/');
		kmb_buf_adds(&done, comp);
		free(comp);
	}
	free(todo);
	kmb_buf_free(&done);
	return r;
}

/* A hard link must not reach its target through a symlink. */
static bool through_symlink(const char *dest, const char *rel)
{
	char *p = kmb_xasprintf("%s/%s", dest, rel);
	size_t base = strlen(dest) + 1;
	bool bad = false;

	for (char *s = p + base; (s = strchr(s, '/')); s++) {
		struct stat st;
		*s = '\0';
		if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode))
			bad = true;
		*s = '/';
		if (bad)
			break;
	}
	free(p);
	return bad;
}

/*
 * Remember every path component of rel that does not exist yet (for rollback), parents first.
 * Walks up from the full path: usually one lstat() tells that the parents all exist. A path is
 * only recorded while missing, so nothing is recorded twice.
 */
static void track_new(struct xtract *x, const char *rel)
{
	char *p = kmb_xasprintf("%s/%s", x->dest, rel);
	char *base = p + strlen(x->dest);
	struct kmb_strv missing = {0};
	struct stat st;

	for (;;) {
		if (lstat(p, &st) == 0)
			break;
		kmb_strv_push(&missing, p);
		char *slash = strrchr(p, '/');
		if (!slash || slash <= base)
			break;
		*slash = '\0';
	}
	for (size_t i = missing.n; i-- > 0;)
		kmb_strv_push(&x->created, missing.v[i]);
	kmb_strv_free(&missing);
	free(p);
}

static void rollback(struct xtract *x, bool dest_created)
{
	if (dest_created) {
		kmb_rm_rf(x->dest);
		return;
	}
	for (size_t i = x->created.n; i-- > 0;) {
		struct stat st;
		const char *p = x->created.v[i];
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			kmb_rm_rf(p);
		else
			unlink(p);
	}
}

static int copy_data(struct xtract *x, struct archive *in, struct archive *out, const char *name)
{
	const void *buf;
	size_t size;
	la_int64_t off;

	for (;;) {
		int r = archive_read_data_block(in, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN) {
			xerr(x, name, "corrupt archive: %s", archive_error_string(in));
			return -EIO;
		}
		if (archive_write_data_block(out, buf, size, off) < ARCHIVE_WARN) {
			xerr(x, name, "cannot write: %s", archive_error_string(out));
			return archive_errno(out) > 0 ? -archive_errno(out) : -EIO;
		}
	}
}

static int one_entry(struct xtract *x, struct archive *in, struct archive *out,
		     struct archive_entry *e)
{
	const char *why = NULL;
	char *name = NULL, *rel = NULL, *full = NULL, *tgt = NULL;
	int r = 0;

	if (!archive_entry_pathname(e)) {
		xerr(x, NULL, "entry with an unreadable name");
		return -EINVAL;
	}
	/* Our own copy: the entry's string dies with archive_entry_set_pathname(). */
	name = kmb_xstrdup(archive_entry_pathname(e));
	rel = norm_rel(name, &why);
	if (!rel) {
		xerr(x, name, "%s", why);
		free(name);
		return -EINVAL;
	}
	if (!*rel) /* the root directory itself ("./") */
		goto out;

	mode_t type = archive_entry_filetype(e);
	const char *hl = archive_entry_hardlink(e);
	if (hl) {
		char *hrel = norm_rel(hl, &why);
		if (!hrel || !*hrel || through_symlink(x->dest, hrel)) {
			xerr(x, name, "hard link target '%s' %s", hl,
			     hrel && *hrel ? "goes through a symlink" : "leaves the destination");
			free(hrel);
			r = -EINVAL;
			goto out;
		}
		char *hfull = kmb_xasprintf("%s/%s", x->dest, hrel);
		archive_entry_set_hardlink(e, hfull);
		free(hfull);
		free(hrel);
	} else if (type == AE_IFLNK) {
		const char *st = archive_entry_symlink(e);
		tgt = st ? link_target(x, rel, st, &why) : NULL;
		if (!tgt) {
			xerr(x, name, "%s%s%s", st ? why : "symlink without a target",
			     st ? ": " : "", st ? st : "");
			r = -EINVAL;
			goto out;
		}
		archive_entry_set_symlink(e, tgt);
		kmb_strv_push(&x->links, rel);
	} else if (type != AE_IFREG && type != AE_IFDIR) {
		xerr(x, name, "unsupported entry type (device, FIFO or socket)");
		r = -EINVAL;
		goto out;
	}

	/* Permission bits only: never setuid/setgid/sticky, always usable by the owner. */
	mode_t perm = archive_entry_perm(e) & 0777;
	archive_entry_set_perm(e, perm | (type == AE_IFDIR ? 0700 : 0600));
	full = kmb_xasprintf("%s/%s", x->dest, rel);
	archive_entry_set_pathname(e, full);
	if (x->track)
		track_new(x, rel);
	r = archive_write_header(out, e);
	if (r < ARCHIVE_WARN) {
		xerr(x, name, "%s", archive_error_string(out));
		r = -EINVAL;
		goto out;
	}
	r = 0;
	if (archive_entry_size(e) > 0)
		r = copy_data(x, in, out, name);
	if (r == 0 && archive_write_finish_entry(out) < ARCHIVE_WARN) {
		xerr(x, name, "%s", archive_error_string(out));
		r = -EIO;
	}
	x->n_entries++;
out:
	free(name);
	free(rel);
	free(full);
	free(tgt);
	return r;
}

/* Extract an opened archive into x->dest. */
static int extract_stream(struct xtract *x, struct archive *in)
{
	struct archive *out = archive_write_disk_new();
	struct archive_entry *e;
	int r = 0;

	/*
	 * No ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS: libarchive 3.6 has no *at() writer, so
	 * entries are handed to it as realpath(dest)/rel, which is absolute by construction.
	 * one_entry() refuses absolute entry names itself (and the alternative, chdir(), would
	 * change the whole process's cwd under the build threads).
	 */
	archive_write_disk_set_options(out, ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						    ARCHIVE_EXTRACT_SECURE_SYMLINKS |
						    ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME);
	for (;;) {
		int h = archive_read_next_header(in, &e);
		if (h == ARCHIVE_EOF)
			break;
		if (h < ARCHIVE_WARN || h == ARCHIVE_RETRY) {
			xerr(x, NULL, "corrupt archive: %s", archive_error_string(in));
			r = -EIO;
			break;
		}
		r = one_entry(x, in, out, e);
		if (r < 0)
			break;
	}
	if (archive_write_close(out) < ARCHIVE_WARN && r == 0) {
		xerr(x, NULL, "%s", archive_error_string(out));
		r = -EIO;
	}
	archive_write_free(out);
	if (r == 0 && x->n_entries == 0) {
		xerr(x, NULL, "archive is empty");
		r = -EIO;
	}
	for (size_t i = 0; r == 0 && i < x->links.n; i++) {
		int j = jail_resolve(x->dest, x->links.v[i]);
		if (j < 0) {
			xerr(x, x->links.v[i], "%s",
			     j == -EXDEV ? "symlink resolves outside the destination"
					 : "symlink loop");
			r = -EINVAL;
		}
	}
	return r;
}

/* Prepare dest (create it if missing) and the extraction state. */
static int xtract_begin(struct xtract *x, const char *label, const char *dest_dir, bool *created)
{
	char real[PATH_MAX];
	int r;

	*created = !kmb_exists(dest_dir);
	if (*created) {
		r = kmb_mkdir_p(dest_dir, 0755);
		if (r < 0) {
			xerr(x, NULL, "cannot create %s: %s", dest_dir, strerror(-r));
			return r;
		}
	} else if (!kmb_is_dir(dest_dir)) {
		xerr(x, NULL, "%s is not a directory", dest_dir);
		return -ENOTDIR;
	}
	if (!realpath(dest_dir, real)) {
		r = -errno;
		xerr(x, NULL, "%s: %s", dest_dir, strerror(-r));
		if (*created)
			rmdir(dest_dir);
		return r;
	}
	x->label = label;
	x->dest = kmb_xstrdup(real);
	x->track = !*created;
	return 0;
}

static void xtract_end(struct xtract *x)
{
	free(x->dest);
	kmb_strv_free(&x->created);
	kmb_strv_free(&x->links);
}

static int open_file(struct xtract *x, struct archive *in, const char *path)
{
	if (archive_read_open_filename(in, path, 65536) != ARCHIVE_OK) {
		int e = archive_errno(in);
		xerr(x, NULL, "%s", archive_error_string(in));
		return e > 0 ? -e : -EIO;
	}
	return 0;
}

static int extract_file(const char *path, const char *dest_dir, bool rooted, bool rpm, char *err,
			size_t errlen)
{
	struct xtract x = {.err = err, .errlen = errlen, .rooted = rooted};
	struct archive *in;
	bool created;
	int r;

	if (err && errlen)
		err[0] = '\0';
	r = xtract_begin(&x, path, dest_dir, &created);
	if (r < 0) {
		xtract_end(&x);
		return r;
	}
	in = archive_read_new();
	archive_read_support_filter_all(in);
	if (rpm) {
		archive_read_support_format_cpio(in);
	} else {
		/* Source archive formats only: "all" includes mtree, which takes any text file
		 * for an (empty) archive, and raw/empty, which take anything. */
		archive_read_support_format_tar(in);
		archive_read_support_format_gnutar(in);
		archive_read_support_format_cpio(in);
		archive_read_support_format_zip(in);
		archive_read_support_format_7zip(in);
		archive_read_support_format_ar(in);
	}
	r = open_file(&x, in, path);
	if (r == 0)
		r = extract_stream(&x, in);
	if (r == 0 && rpm) {
		/* A bare cpio would read the same way; insist on the rpm wrapper. */
		bool is_rpm = false;
		for (int i = 0; i < archive_filter_count(in); i++)
			is_rpm |= archive_filter_code(in, i) == ARCHIVE_FILTER_RPM;
		if (!is_rpm) {
			xerr(&x, NULL, "not an rpm package");
			r = -EINVAL;
		}
	}
	archive_read_free(in);
	if (r < 0)
		rollback(&x, created);
	xtract_end(&x);
	return r;
}

int kmb_archive_extract(const char *archive_path, const char *dest_dir, char *err, size_t errlen)
{
	return extract_file(archive_path, dest_dir, false, false, err, errlen);
}

int kmb_archive_extract_rpm(const char *rpm_path, const char *dest_dir, char *err, size_t errlen)
{
	return extract_file(rpm_path, dest_dir, true, true, err, errlen);
}

/* The inner data.tar is read straight from the outer ar member: no temporary file. */
struct member {
	struct archive *outer;
	char block[65536];
};

static la_ssize_t member_read(struct archive *inner, void *data, const void **buf)
{
	struct member *m = data;
	la_ssize_t n = archive_read_data(m->outer, m->block, sizeof(m->block));

	if (n < 0)
		archive_set_error(inner, EIO, "%s", archive_error_string(m->outer));
	*buf = m->block;
	return n;
}

int kmb_archive_extract_deb_data(const char *deb_path, const char *dest_dir, char *err,
				 size_t errlen)
{
	struct xtract x = {.err = err, .errlen = errlen, .rooted = true};
	struct archive *outer, *inner = NULL;
	struct archive_entry *e;
	struct member *m = NULL;
	bool created, found = false;
	int r;

	if (err && errlen)
		err[0] = '\0';
	r = xtract_begin(&x, deb_path, dest_dir, &created);
	if (r < 0) {
		xtract_end(&x);
		return r;
	}
	outer = archive_read_new();
	archive_read_support_format_ar(outer);
	r = open_file(&x, outer, deb_path);
	while (r == 0) {
		int h = archive_read_next_header(outer, &e);
		if (h == ARCHIVE_EOF)
			break;
		if (h < ARCHIVE_WARN) {
			xerr(&x, NULL, "not a valid .deb: %s", archive_error_string(outer));
			r = -EIO;
			break;
		}
		const char *name = archive_entry_pathname(e);
		if (!name || !kmb_startswith(name, "data.tar"))
			continue;
		found = true;
		inner = archive_read_new();
		archive_read_support_filter_all(inner);
		archive_read_support_format_tar(inner);
		m = kmb_xmalloc(sizeof(*m));
		m->outer = outer;
		if (archive_read_open(inner, m, NULL, member_read, NULL) != ARCHIVE_OK) {
			xerr(&x, name, "%s", archive_error_string(inner));
			r = -EIO;
			break;
		}
		r = extract_stream(&x, inner);
		break;
	}
	if (r == 0 && !found) {
		xerr(&x, NULL, "not a .deb: no data.tar member");
		r = -EINVAL;
	}
	if (inner)
		archive_read_free(inner);
	free(m);
	archive_read_free(outer);
	if (r < 0)
		rollback(&x, created);
	xtract_end(&x);
	return r;
}

static int check_walk(struct xtract *x, const char *rel, int depth)
{
	char *path = *rel ? kmb_xasprintf("%s/%s", x->dest, rel) : kmb_xstrdup(x->dest);
	DIR *d = opendir(path);
	struct dirent *de;
	int r = 0;

	if (!d) {
		r = -errno;
		xerr(x, NULL, "%s: %s", path, strerror(errno));
		free(path);
		return r;
	}
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *sub =
			*rel ? kmb_xasprintf("%s/%s", rel, de->d_name) : kmb_xstrdup(de->d_name);
		char *full = kmb_xasprintf("%s/%s", path, de->d_name);
		struct stat st;
		if (lstat(full, &st) == 0) {
			if (S_ISLNK(st.st_mode)) {
				int j = jail_resolve(x->dest, sub);
				if (j < 0) {
					xerr(x, sub, "%s",
					     j == -EXDEV ? "symlink resolves outside the tree"
							 : "symlink loop");
					r = -EINVAL;
				}
			} else if (S_ISDIR(st.st_mode)) {
				r = depth > 64 ? -ELOOP : check_walk(x, sub, depth + 1);
			}
		}
		free(full);
		free(sub);
	}
	closedir(d);
	free(path);
	return r;
}

int kmb_archive_check_tree(const char *dir, char *err, size_t errlen)
{
	struct xtract x = {.err = err, .errlen = errlen, .label = dir};
	char real[PATH_MAX];
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!realpath(dir, real)) {
		r = -errno;
		xerr(&x, NULL, "%s", strerror(errno));
		return r;
	}
	x.dest = real;
	return check_walk(&x, "", 0);
}

int kmb_archive_read_raw(const char *path, size_t max_len, char **out, size_t *len, char *err,
			 size_t errlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct kmb_buf b = {0};
	char block[65536];
	int r = 0;

	if (err && errlen)
		err[0] = '\0';
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		int e2 = archive_errno(a);
		kmb_errbuf(err, errlen, "%s: %s", path, archive_error_string(a));
		r = e2 > 0 ? -e2 : -EIO;
		goto out;
	}
	int h = archive_read_next_header(a, &e);
	if (h == ARCHIVE_EOF)
		goto done;
	if (h < ARCHIVE_WARN) {
		kmb_errbuf(err, errlen, "%s: %s", path, archive_error_string(a));
		r = -EIO;
		goto out;
	}
	for (;;) {
		la_ssize_t n = archive_read_data(a, block, sizeof(block));
		if (n == 0)
			break;
		if (n < 0) {
			kmb_errbuf(err, errlen, "%s: corrupt data: %s", path,
				   archive_error_string(a));
			r = -EIO;
			goto out;
		}
		if (b.len + (size_t)n > max_len) {
			kmb_errbuf(err, errlen, "%s: decompresses to more than %zu bytes", path,
				   max_len);
			r = -EFBIG;
			goto out;
		}
		kmb_buf_add(&b, block, (size_t)n);
	}
done:
	if (len)
		*len = b.len;
	*out = kmb_buf_steal(&b);
out:
	if (r < 0)
		kmb_buf_free(&b);
	archive_read_free(a);
	return r;
}
