/*
 * state.c - the files a long-running program keeps its state in, with the
 * guarantees plain Lua io cannot give:
 *   core.lock(path, wait)    an advisory exclusive lock (flock) that the
 *                            kernel drops when its holder dies
 *   core.append(path, text)  a journal line, on disk when this returns
 *   core.replace(path, text) the whole file, old or new, never a mix
 *   core.mkdirs(path, mode)  a directory and its parents (mkdir -p)
 *   core.process()           { pid, host }: who holds a lock
 * Run-time failures come back as nil, message (the message names the
 * path); only a wrong argument raises.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

/* Between two tries of a busy lock. */
#define LOCK_RETRY_SECONDS 0.02

typedef struct {
    int fd;                     /* -1 once closed (or never locked) */
    char path[1];               /* the path, for messages; more room follows */
} ps_lock;

/* The path at idx: a string without NUL, which open() would cut. */
static const char *check_path(lua_State *L, int idx, size_t *len)
{
    const char *path = luaL_checklstring(L, idx, len);

    luaL_argcheck(L, *len > 0 && strlen(path) == *len, idx, "path must be a non-empty string without NUL");
    return path;
}

/* Pushes nil and "<what> <path>: <strerror(err)>"; returns 2. */
static int fail(lua_State *L, const char *what, const char *path, int err)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s %s: %s", what, path, strerror(err));
    return 2;
}

/* Writes all of p at the file's offset (O_APPEND: its end), or at `at` when
 * at >= 0 (pwrite). 0, or the errno. */
static int write_all(int fd, const char *p, size_t n, off_t at)
{
    while (n > 0) {
        ssize_t w = at >= 0 ? pwrite(fd, p, n, at) : write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += w;
        n -= (size_t)w;
        if (at >= 0)
            at += w;
    }
    return 0;
}

/* fsync, again after EINTR. 0, or the errno. */
static int sync_fd(int fd)
{
    while (fsync(fd) != 0) {
        if (errno != EINTR)
            return errno;
    }
    return 0;
}

/* fsync of the directory holding path (a name made, or renamed, there is
 * durable only then). 0, or the errno. */
static int sync_dir(lua_State *L, const char *path, size_t len)
{
    const char *dir;
    int fd, err;

    while (len > 0 && path[len - 1] != '/')
        len--;
    if (len == 0)
        dir = ".";
    else if (len == 1)
        dir = "/";
    else {
        lua_pushlstring(L, path, len - 1); /* returns void on 5.1 */
        dir = lua_tostring(L, -1);
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    err = sync_fd(fd);
    close(fd);
    /* Some file systems cannot sync a directory; nothing more to do there. */
    return err == EINVAL ? 0 : err;
}

/* ---- core.lock(path, wait_seconds) ------------------------------------ */

int ps_lock_new(lua_State *L)
{
    size_t len;
    const char *path = check_path(L, 1, &len);
    lua_Number wait = luaL_optnumber(L, 2, 0);
    double deadline;
    ps_lock *k;

    luaL_argcheck(L, wait >= 0, 2, "wait_seconds must be a number >= 0");
    /* The userdata before the descriptor: a memory error cannot leak it. */
    k = (ps_lock *)lua_newuserdata(L, sizeof *k + len);
    k->fd = -1;
    memcpy(k->path, path, len + 1);
    luaL_getmetatable(L, PS_LOCK_MT);
    lua_setmetatable(L, -2);

    k->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (k->fd < 0)
        return fail(L, "cannot open lock file", path, errno);
    deadline = ps_now() + (double)wait;
    /* flock belongs to the open file description: another open() of the
     * same file, in this process too, is another holder. */
    while (flock(k->fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno, interrupted = 0;
        double left;

        if (err == EINTR)
            continue;
        if (err == EWOULDBLOCK) {
            left = deadline - ps_now();
            if (left > 0) {
                if (ps_pause(left < LOCK_RETRY_SECONDS ? left : LOCK_RETRY_SECONDS))
                    continue;
                interrupted = 1; /* a trapped signal: stop waiting */
            }
        }
        close(k->fd);
        k->fd = -1;
        if (err != EWOULDBLOCK)
            return fail(L, "cannot lock", path, err);
        lua_pushnil(L);
        if (interrupted)
            lua_pushliteral(L, "interrupted");
        else
            lua_pushliteral(L, "busy");
        return 2;
    }
    return 1;
}

/* lock:write(text): the file's content becomes text (the holder's own
 * description, for whoever finds the lock busy). */
static int lock_write(lua_State *L)
{
    ps_lock *k = (ps_lock *)luaL_checkudata(L, 1, PS_LOCK_MT);
    size_t len;
    const char *text = luaL_checklstring(L, 2, &len);
    int err;

    if (k->fd < 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "closed");
        return 2;
    }
    if (ftruncate(k->fd, 0) != 0)
        return fail(L, "cannot write lock file", k->path, errno);
    err = write_all(k->fd, text, len, 0);
    if (err == 0)
        err = sync_fd(k->fd);
    if (err != 0)
        return fail(L, "cannot write lock file", k->path, err);
    lua_pushboolean(L, 1);
    return 1;
}

/* Idempotent: close(), __gc and __close all end up here. The file stays:
 * removing it would let a waiter lock a name another process recreates. */
static int lock_close(lua_State *L)
{
    ps_lock *k = (ps_lock *)luaL_checkudata(L, 1, PS_LOCK_MT);

    if (k->fd >= 0) {
        /* Unlock first: a forked child may share the description. */
        flock(k->fd, LOCK_UN);
        close(k->fd);
        k->fd = -1;
    }
    return 0;
}

static int lock_tostring(lua_State *L)
{
    ps_lock *k = (ps_lock *)luaL_checkudata(L, 1, PS_LOCK_MT);

    lua_pushstring(L, k->fd >= 0 ? PS_LOCK_MT " (held)" : PS_LOCK_MT " (closed)");
    return 1;
}

static const luaL_Reg lock_methods[] = {
    { "write", lock_write },
    { "close", lock_close },
    { NULL, NULL }
};

static const luaL_Reg lock_meta[] = {
    { "__gc", lock_close },
    { "__close", lock_close },
    { "__tostring", lock_tostring },
    { NULL, NULL }
};

void ps_lock_init_metatable(lua_State *L)
{
    if (luaL_newmetatable(L, PS_LOCK_MT)) {
        luaL_setfuncs(L, lock_meta, 0);
        luaL_newlib(L, lock_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
}

/* ---- core.append(path, text) ------------------------------------------ */

/*
 * One write(2) per call when the kernel takes it whole (a regular file
 * does), and O_APPEND makes it land at the end as one piece even when
 * other processes append too. A failure part-way (a full disk) may leave
 * a partial last line: the reader must drop one.
 */
int ps_append(lua_State *L)
{
    size_t plen, len;
    const char *path = check_path(L, 1, &plen);
    const char *text = luaL_checklstring(L, 2, &len);
    struct stat st;
    int fd, err, fresh;

    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(L, "cannot open", path, errno);
    /* An empty file may be new: its name needs the directory synced. */
    fresh = fstat(fd, &st) != 0 || st.st_size == 0;
    err = write_all(fd, text, len, -1);
    if (err == 0)
        err = sync_fd(fd);
    if (close(fd) != 0 && err == 0 && errno != EINTR)
        err = errno;
    if (err != 0)
        return fail(L, "cannot append to", path, err);
    if (fresh && (err = sync_dir(L, path, plen)) != 0)
        return fail(L, "cannot sync the directory of", path, err);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- core.replace(path, text) ----------------------------------------- */

/*
 * path .. ".tmp" written and synced, then renamed over path: a reader (or
 * a crash) sees the old content or the new one. Two writers of the same
 * path would share the .tmp: hold core.lock around it.
 */
int ps_replace(lua_State *L)
{
    size_t plen, len;
    const char *path = check_path(L, 1, &plen);
    const char *text = luaL_checklstring(L, 2, &len);
    const char *tmp;
    int fd, err;

    lua_settop(L, 2);
    tmp = lua_pushfstring(L, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(L, "cannot open", tmp, errno);
    err = write_all(fd, text, len, 0);
    if (err == 0)
        err = sync_fd(fd);
    if (close(fd) != 0 && err == 0 && errno != EINTR)
        err = errno;
    if (err != 0) {
        unlink(tmp);
        return fail(L, "cannot write", tmp, err);
    }
    if (rename(tmp, path) != 0) {
        err = errno;
        unlink(tmp);
        return fail(L, "cannot rename over", path, err);
    }
    if ((err = sync_dir(L, path, plen)) != 0)
        return fail(L, "cannot sync the directory of", path, err);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- core.mkdirs(path, mode) ------------------------------------------ */

/*
 * Each missing directory of path made with mode (umask applies), parents
 * first; one that exists already is fine, as is a race with another
 * process making it. true, or nil, message.
 */
int ps_mkdirs(lua_State *L)
{
    size_t len, i;
    const char *path = check_path(L, 1, &len);
    lua_Integer mode = luaL_optinteger(L, 2, 0700);
    char *buf;
    struct stat st;

    luaL_argcheck(L, mode >= 0 && mode <= 07777, 2, "mode must be from 0 to 07777");
    buf = (char *)lua_newuserdata(L, len + 1); /* freed by the GC, even after an error */
    memcpy(buf, path, len + 1);
    for (i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
            return fail(L, "cannot make the directory", buf, errno);
        buf[i] = path[i];
    }
    if (stat(path, &st) != 0)
        return fail(L, "cannot make the directory", path, errno);
    if (!S_ISDIR(st.st_mode))
        return fail(L, "cannot make the directory", path, ENOTDIR);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- core.process() ---------------------------------------------------- */

/* { pid = getpid(), host = gethostname() }: what a lock file says of its
 * holder, for the message of the run that has to wait. */
int ps_process(lua_State *L)
{
    char host[256];

    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)getpid());
    lua_setfield(L, -2, "pid");
    if (gethostname(host, sizeof host) != 0)
        strcpy(host, "?");
    host[sizeof host - 1] = '\0'; /* POSIX leaves a cut name unterminated */
    lua_pushstring(L, host);
    lua_setfield(L, -2, "host");
    return 1;
}
