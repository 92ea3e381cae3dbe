// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sandboxed bash child for dkms.conf files that are real shell programs. Nothing is ever
 * sourced into kmbuild itself: bash runs with an empty environment (PATH and LC_ALL only), in
 * the conf's directory, stdin from /dev/null, in its own process group that is killed on
 * timeout, and all it can hand back is text on a pipe that the strict declare-parser reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf_priv.h"

#define MAX_STDOUT (4u << 20)
#define MAX_STDERR 4096u

static const char *find_bash(void)
{
	static const char *const cands[] = {"/bin/bash", "/usr/bin/bash"};

	for (size_t i = 0; i < KMB_ARRAY_SIZE(cands); i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return NULL;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child between fork and exec: only async-signal-safe calls. */
static void child_exec(const char *bash, const char *dir, int outfd, int errfd, char *const argv[],
		       char *const envp[])
{
	static const char msg[] = "kmbuild: cannot enter the dkms.conf directory\n";
	int null = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	if (null < 0 || dup2(null, 0) < 0 || dup2(outfd, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(126);
	if (chdir(dir) < 0) {
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(126);
		_exit(126);
	}
	/* Whatever kmbuild has open (lock file, jobserver, sockets) stays out of the conf's reach.
	 */
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
		long max = sysconf(_SC_OPEN_MAX);
		for (long fd = 3; fd < (max > 0 ? max : 1024); fd++)
			close((int)fd);
	}
	execve(bash, argv, envp);
	_exit(127);
}

static int drain(int *fd, struct kmb_buf *b, size_t limit, bool *overflow)
{
	char chunk[8192];
	ssize_t n = read(*fd, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	if (b->len + (size_t)n > limit) {
		*overflow = true;
		n = (ssize_t)(limit - b->len);
	}
	kmb_buf_add(b, chunk, (size_t)n);
	return 0;
}

static void kill_group(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
}

int kmb_conf_run_bash(const char *dir, const char *script, const char *file, unsigned timeout_ms,
		      char **out, char **errtext, char *why, size_t whylen)
{
	static char *const envp[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
		NULL};
	const char *bash = find_bash();
	char *argv[] = {(char *)"bash", (char *)"--norc",	(char *)"--noprofile", (char *)"-c",
			(char *)script, (char *)"kmbuild-conf", (char *)file,	       NULL};
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	struct kmb_buf ob = {0}, eb = {0};
	bool out_over = false, err_over = false, exited = false;
	long long deadline = now_ms() + (timeout_ms ? timeout_ms : KMB_CONF_SHELL_TIMEOUT_MS);
	int status = 0, r = 0, pidfd = -1;
	pid_t pid;

	*out = *errtext = NULL;
	if (!bash) {
		snprintf(why, whylen, "bash is not installed");
		return -ENOENT;
	}
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		goto out_close;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		snprintf(why, whylen, "fork: %s", strerror(errno));
		goto out_close;
	}
	if (pid == 0)
		child_exec(bash, dir, po[1], pe[1], argv, envp);
	setpgid(pid, pid); /* also in the parent, so kill_group cannot race the child's call */
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;

	/* Readable when bash exits: no polling delay once its pipes are closed. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		struct pollfd p[3] = {{.fd = po[0], .events = POLLIN},
				      {.fd = pe[0], .events = POLLIN},
				      {.fd = exited ? -1 : pidfd, .events = POLLIN}};
		long long left = deadline - now_ms();
		siginfo_t si = {0};
		int n;

		/* WNOWAIT: the zombie keeps its pid, so the group kill below cannot hit a reuse. */
		if (!exited && waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid)
			exited = true;
		if (exited && po[0] < 0 && pe[0] < 0)
			break;
		if (left <= 0) {
			kill_group(pid);
			waitpid(pid, &status, 0);
			snprintf(why, whylen, "bash did not finish within %u ms",
				 timeout_ms ? timeout_ms : KMB_CONF_SHELL_TIMEOUT_MS);
			r = -ETIMEDOUT;
			goto out_close;
		}
		/* Once bash is gone, leftover background children must not hold us up. */
		n = poll(p, 3, exited ? 0 : (int)(left < 50 ? left : (pidfd >= 0 ? 50 : 5)));
		if (n < 0 && errno != EINTR) {
			r = -errno;
			kill_group(pid);
			waitpid(pid, &status, 0);
			snprintf(why, whylen, "poll: %s", strerror(errno));
			goto out_close;
		}
		if (n <= 0 || (p[2].revents && !p[0].revents && !p[1].revents)) {
			if (exited)
				break;
			continue;
		}
		if (po[0] >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			drain(&po[0], &ob, MAX_STDOUT, &out_over);
		if (pe[0] >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			drain(&pe[0], &eb, MAX_STDERR, &err_over);
		if (out_over) {
			kill_group(pid);
			waitpid(pid, &status, 0);
			snprintf(why, whylen, "bash printed more than %u bytes", MAX_STDOUT);
			r = -E2BIG;
			goto out_close;
		}
	}
	kill(-pid, SIGKILL); /* stray background jobs of the conf; bash itself is a zombie */
	waitpid(pid, &status, 0);
	r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	*out = kmb_buf_steal(&ob);
	*errtext = kmb_buf_steal(&eb);

out_close:
	if (pidfd >= 0)
		close(pidfd);
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	kmb_buf_free(&ob);
	kmb_buf_free(&eb);
	return r;
}
