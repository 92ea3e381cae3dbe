/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "cli.h"

int kmb_cli_build_install(struct kmb_ctx *ctx, int argc, char **argv, bool install,
			  const struct kmb_cmd *cmd);
