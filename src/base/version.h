/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* DKMS's VER() comparison of kernel and module versions: <0, 0, >0 (see version.c). */
int kmb_vercmp(const char *a, const char *b);
