/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A streaming JSON writer for --json output. key is NULL inside arrays. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

struct kmb_json {
	FILE *f;
	int depth;
	bool first[64];
};

void kmb_json_init(struct kmb_json *j, FILE *f);
void kmb_json_obj_begin(struct kmb_json *j, const char *key);
void kmb_json_obj_end(struct kmb_json *j);
void kmb_json_arr_begin(struct kmb_json *j, const char *key);
void kmb_json_arr_end(struct kmb_json *j);
void kmb_json_str(struct kmb_json *j, const char *key, const char *val); /* NULL -> null */
void kmb_json_int(struct kmb_json *j, const char *key, long long val);
void kmb_json_bool(struct kmb_json *j, const char *key, bool val);
/* Ends the document with a newline. */
void kmb_json_finish(struct kmb_json *j);
