// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/json.h"

void kmb_json_init(struct kmb_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = true;
}

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

static void prefix(struct kmb_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (key) {
		put_string(j->f, key);
		fputc(':', j->f);
	}
}

static void open_(struct kmb_json *j, const char *key, char c)
{
	prefix(j, key);
	fputc(c, j->f);
	if (j->depth < 63)
		j->depth++;
	j->first[j->depth] = true;
}

void kmb_json_obj_begin(struct kmb_json *j, const char *key)
{
	open_(j, key, '{');
}

void kmb_json_obj_end(struct kmb_json *j)
{
	j->depth--;
	fputc('}', j->f);
}

void kmb_json_arr_begin(struct kmb_json *j, const char *key)
{
	open_(j, key, '[');
}

void kmb_json_arr_end(struct kmb_json *j)
{
	j->depth--;
	fputc(']', j->f);
}

void kmb_json_str(struct kmb_json *j, const char *key, const char *val)
{
	prefix(j, key);
	if (val)
		put_string(j->f, val);
	else
		fputs("null", j->f);
}

void kmb_json_int(struct kmb_json *j, const char *key, long long val)
{
	prefix(j, key);
	fprintf(j->f, "%lld", val);
}

void kmb_json_bool(struct kmb_json *j, const char *key, bool val)
{
	prefix(j, key);
	fputs(val ? "true" : "false", j->f);
}

void kmb_json_finish(struct kmb_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
