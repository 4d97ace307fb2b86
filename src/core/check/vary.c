/* git gitian check: the LD_PRELOAD shim of the `clock` and `fileordering` variations.
 * Built in the guest by the check's preparation and listed in /etc/ld.so.preload, so every
 * dynamically linked program of every check build (control included) loads it; what it does
 * is read from /var/lib/gitian-check/vary when a program starts:
 *   clock=SECONDS     added to the wall clock (time, gettimeofday, clock_gettime,
 *                     timespec_get); the clock keeps running
 *   readdir=reverse   readdir returns a directory's entries in the reverse of the file
 *                     system's order
 * Statically linked programs and file times (set by the kernel) are not affected. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static long long offset;
static int reverse;

__attribute__((constructor)) static void gitian_check_init(void)
{
	char line[64];
	FILE *f = fopen("/var/lib/gitian-check/vary", "re");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "clock=", 6))
			offset = atoll(line + 6);
		else if (!strncmp(line, "readdir=reverse", 15))
			reverse = 1;
	}
	fclose(f);
}

static void *next_symbol(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	if (!real)
		real = (int (*)(clockid_t, struct timespec *))next_symbol("clock_gettime");
	int r = real(id, ts);
	if (r == 0 && offset && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += offset;
	return r;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	static int (*real)(struct timeval *, void *);
	if (!real)
		real = (int (*)(struct timeval *, void *))next_symbol("gettimeofday");
	int r = real(tv, tz);
	if (r == 0)
		tv->tv_sec += offset;
	return r;
}

time_t time(time_t *t)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (time_t)-1;
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

int timespec_get(struct timespec *ts, int base)
{
	static int (*real)(struct timespec *, int);
	if (!real)
		real = (int (*)(struct timespec *, int))next_symbol("timespec_get");
	int r = real(ts, base);
	if (r == TIME_UTC)
		ts->tv_sec += offset;
	return r;
}

/* One directory being read in reverse: its entries, read whole at the first readdir. */
struct listing {
	DIR *dir;
	int wide;
	char **entries;
	size_t count, served;
	struct listing *up;
};

static struct listing *listings;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *real_read(DIR *d, int wide)
{
	static void *(*narrow)(DIR *), *(*w)(DIR *);
	if (!narrow) {
		narrow = (void *(*)(DIR *))next_symbol("readdir");
		w = (void *(*)(DIR *))next_symbol("readdir64");
	}
	return wide ? w(d) : narrow(d);
}

static struct listing *slurp(DIR *d, int wide)
{
	struct listing *l = calloc(1, sizeof *l);
	size_t cap = 0;
	void *e;
	if (!l)
		return NULL;
	l->dir = d;
	l->wide = wide;
	while ((e = real_read(d, wide))) {
		size_t size = wide ? sizeof(struct dirent64) : sizeof(struct dirent);
		if (l->count == cap) {
			cap = cap ? 2 * cap : 64;
			l->entries = realloc(l->entries, cap * sizeof *l->entries);
			if (!l->entries)
				abort();
		}
		l->entries[l->count] = malloc(size);
		if (!l->entries[l->count])
			abort();
		memcpy(l->entries[l->count++], e, size);
	}
	l->up = listings;
	listings = l;
	return l;
}

static void forget(DIR *d)
{
	struct listing **p = &listings;
	while (*p && (*p)->dir != d)
		p = &(*p)->up;
	if (*p) {
		struct listing *l = *p;
		*p = l->up;
		for (size_t i = 0; i < l->count; i++)
			free(l->entries[i]);
		free(l->entries);
		free(l);
	}
}

static void *next_entry(DIR *d, int wide)
{
	struct listing *l;
	void *e = NULL;
	if (!reverse)
		return real_read(d, wide);
	pthread_mutex_lock(&lock);
	for (l = listings; l && l->dir != d; l = l->up)
		;
	if (!l)
		l = slurp(d, wide);
	if (l && l->served < l->count)
		e = l->entries[l->count - 1 - l->served++];
	pthread_mutex_unlock(&lock);
	return e;
}

struct dirent *readdir(DIR *d)
{
	return next_entry(d, 0);
}

struct dirent64 *readdir64(DIR *d)
{
	return next_entry(d, 1);
}

void rewinddir(DIR *d)
{
	static void (*real)(DIR *);
	if (!real)
		real = (void (*)(DIR *))next_symbol("rewinddir");
	pthread_mutex_lock(&lock);
	forget(d);
	pthread_mutex_unlock(&lock);
	real(d);
}

int closedir(DIR *d)
{
	static int (*real)(DIR *);
	if (!real)
		real = (int (*)(DIR *))next_symbol("closedir");
	pthread_mutex_lock(&lock);
	forget(d);
	pthread_mutex_unlock(&lock);
	return real(d);
}
