# Skiff's shim reaper: a tiny long-lived child subreaper (prctl PR_SET_CHILD_SUBREAPER) that starts
# every pod shim, so shims orphaned by their double fork are re-parented here and reaped, even after
# Skiff was killed (PID 1 on some hosts never reaps orphans). A later Skiff re-uses it.
#
# Protocol on the unix socket (argv[1]), one line per connection to start with:
#   "spawn"  the connection becomes stdin/stdout of a new shim (argv[2:]) and is handed over;
#   "hold"   a Skiff's control connection: answered "held <pid>"; while one is open we stay;
#   "ping"   answered "pong <pid>".
# A holder may send "release": answered "bye" when we exit now (nothing left to reap), else "stay".
# We exit once no control connection is open and no child (shim) is left (checked when a holder or a
# child goes away, and every 30 s so a reaper whose Skiff died before holding it does not linger).
import ctypes
import os
import selectors
import signal
import socket
import sys

PR_SET_NAME, PR_SET_CHILD_SUBREAPER = 15, 36


def shim_stamp(path):
    try:
        st = os.stat(path)
        return (st.st_mtime_ns, st.st_size)
    except OSError:
        return None


def load_shim(path):
    """The shim's code, loaded once: a shim is then a fork of us (a millisecond) instead of a new
    interpreter (tens of milliseconds of CPU, competing with the pods starting meanwhile)."""
    stamp = shim_stamp(path)
    try:
        sys.dont_write_bytecode = True  # no __pycache__ in Skiff's source tree
        sys.path.insert(0, os.path.dirname(path))
        import shim
        return (shim, stamp)
    except Exception as e:  # the exec path still works
        sys.stderr.write('skiff-reaper: cannot load %s: %s\n' % (path, e))
        return None
    finally:
        sys.path.pop(0)


def fork_shim(conn_fd, shim):
    if os.fork() != 0:
        return
    code = 1
    try:
        # The child is a shim: the connection is its stdin/stdout; nothing of ours lives on, and
        # signals are as a fresh interpreter has them.
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.dup2(conn_fd, 0)
        os.dup2(conn_fd, 1)
        os.closerange(3, 1024)
        shim.main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException as e:
        sys.stderr.write('skiff-shim: %s\n' % e)
    finally:
        sys.stderr.flush()
        os._exit(code)


def main():
    sock_path, shim_argv = sys.argv[1], sys.argv[2:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.stderr.write('skiff-reaper: prctl: %s\n' % os.strerror(ctypes.get_errno()))
        sys.exit(1)
    libc.prctl(PR_SET_NAME, b'skiff-reaper', 0, 0, 0)
    os.closerange(3, 1024)  # nothing Skiff's process held open may live on in us or the shims
    shim_module = load_shim(shim_argv[-1])
    try:
        os.unlink(sock_path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    os.chmod(sock_path, 0o600)  # whoever connects starts root processes
    listener.listen(64)
    sock_ino = os.stat(sock_path).st_ino
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel = selectors.DefaultSelector()
    sel.register(wake_r, selectors.EVENT_READ, 'wake')
    sel.register(listener, selectors.EVENT_READ, 'listen')
    holders = set()
    pending = set()  # accepted, first line not read yet
    # Shims must not inherit our handlers, mask or ignored signals.
    sigdef = (signal.SIGCHLD, signal.SIGPIPE, signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    sys.stdout.write('ready %d\n' % os.getpid())
    sys.stdout.flush()
    null = os.open('/dev/null', os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)

    def has_children():
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            return True
        except ChildProcessError:
            return False

    def reap():
        reaped = False
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return reaped
            if pid == 0:
                return reaped
            reaped = True

    def drop(conn):
        holders.discard(conn)
        pending.discard(conn)
        sel.unregister(conn)
        conn.close()

    def on_line(conn):
        # Peek so that only the first line is consumed: what follows belongs to the shim.
        try:
            head = conn.recv(256, socket.MSG_PEEK)
        except OSError:
            head = b''
        nl = head.find(b'\n')
        if nl < 0:
            if not head or len(head) >= 256:
                drop(conn)
            return
        cmd = conn.recv(nl + 1).strip()
        pending.discard(conn)
        if cmd == b'spawn':
            sel.unregister(conn)
            try:
                if shim_module and shim_stamp(shim_argv[-1]) == shim_module[1]:
                    fork_shim(conn.fileno(), shim_module[0])
                else:  # shim.py changed since we loaded it (Skiff was upgraded): a fresh one
                    os.posix_spawn(shim_argv[0], shim_argv, os.environ,
                                   file_actions=[(os.POSIX_SPAWN_DUP2, conn.fileno(), 0),
                                                 (os.POSIX_SPAWN_DUP2, conn.fileno(), 1)],
                                   setsigdef=sigdef, setsigmask=())
            except OSError as e:
                sys.stderr.write('skiff-reaper: spawn: %s\n' % e)
            conn.close()
        elif cmd == b'hold':
            holders.add(conn)
            conn.sendall(b'held %d\n' % os.getpid())
            sel.modify(conn, selectors.EVENT_READ, 'holder')
        elif cmd == b'ping':
            conn.sendall(b'pong %d\n' % os.getpid())
            drop(conn)
        else:
            drop(conn)

    while True:
        events = sel.select(30.0)
        check = not events
        for key, _ in events:
            if key.data == 'wake':
                try:
                    os.read(wake_r, 512)
                except BlockingIOError:
                    pass
            elif key.data == 'listen':
                conn, _ = listener.accept()
                pending.add(conn)
                sel.register(conn, selectors.EVENT_READ, 'line')
            elif key.data == 'line':
                on_line(key.fileobj)
            elif key.data == 'holder':
                try:
                    data = key.fileobj.recv(256)
                except OSError:
                    data = b''
                if data.strip() == b'release':
                    holders.discard(key.fileobj)
                    reap()
                    done = not holders and not pending and not has_children()
                    try:
                        key.fileobj.sendall(b'bye\n' if done else b'stay\n')
                    except OSError:
                        pass
                    data = b''
                if not data:
                    drop(key.fileobj)
                    check = True
        if reap():
            check = True
        if check and not holders and not pending and not has_children():
            break
    # Whoever connects after this point finds the socket gone (or refused) and starts a new reaper;
    # the path may already be a newer reaper's socket, which stays.
    listener.close()
    try:
        if os.stat(sock_path).st_ino == sock_ino:
            os.unlink(sock_path)
    except FileNotFoundError:
        pass


if __name__ == '__main__':
    main()
