# Skiff's pod shim (containerd-shim + conmon + pause in one small process): PID 1 of the pod's PID
# namespace. It builds the pod's mount namespace, runs containers as its children, writes their
# output as CRI log lines, reaps every process, and keeps running when Skiff dies (Skiff re-attaches).
# Its control protocol is shim-protocol.json, next to this file.
import ctypes
import fcntl
import json
import os
import selectors
import signal
import shutil
import socket
import stat
import struct
import sys
import termios
import time

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
MNT_DETACH = 2
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]


# The control protocol's schema, shared with shim-client.ts (read before the pod's root hides it).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'shim-protocol.json')) as _f:
    PROTOCOL = json.load(_f)
JSON_TYPES = {'string': str, 'array': list, 'object': dict, 'boolean': bool}


def check_request(req):
    """Raises ValueError unless `req` is a request shim-protocol.json describes."""
    spec = PROTOCOL['requests'].get(req.get('op'))
    if spec is None:
        raise ValueError('unknown op %r' % req.get('op'))
    fields = dict(spec['required'], **spec['optional'])
    for name in spec['required']:
        if name not in req:
            raise ValueError('%s: missing %s' % (req['op'], name))
    for name, value in req.items():
        if name in ('op', 'id'):
            continue
        kind = fields.get(name)
        if kind is None:
            raise ValueError('%s: unknown field %s' % (req['op'], name))
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) if kind == 'number' \
            else isinstance(value, JSON_TYPES[kind])
        if not ok:
            raise ValueError('%s: %s must be a %s' % (req['op'], name, kind))


def die(msg):
    sys.stderr.write('skiff-shim: %s\n' % msg)
    sys.stderr.flush()
    os._exit(1)


def mount(source, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None
    if libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'mount %s on %s: %s' % (source, target, os.strerror(err)))


def bind(source, target, read_only=False):
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    elif not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, 'a').close()
    mount(source, target, None, MS_BIND | MS_REC)
    if read_only:
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def resolve_in_root(root, path):
    """The host path of `path` as seen inside `root`: symlinks (e.g. /var/run -> /run) resolve
    against root, never against the host, so mounts land inside the pod's tree."""
    parts = [p for p in path.split('/') if p and p != '.']
    cur, hops = '', 0
    while parts:
        p = parts.pop(0)
        if p == '..':
            cur = os.path.dirname(cur)
            continue
        full = root + cur + '/' + p
        if os.path.islink(full) and hops < 40:
            hops += 1
            link = os.readlink(full)
            if link.startswith('/'):
                cur = ''
            parts = [x for x in link.split('/') if x and x != '.'] + parts
            continue
        cur = cur + '/' + p
    return root + cur


def build_rootfs(pod_dir, cfg):
    """Copy-on-write view of the host root (host files stay untouched), then the pod's own mounts."""
    mount(None, '/', None, MS_REC | MS_PRIVATE)
    scratch = os.path.join(pod_dir, 'root')
    os.makedirs(scratch, exist_ok=True)
    mount('skiff-pod', scratch, 'tmpfs', MS_NOSUID | MS_NODEV, 'mode=755')
    for d in ('upper', 'work', 'merged'):
        os.mkdir(os.path.join(scratch, d))
    new = os.path.join(scratch, 'merged')
    mount('overlay', new, 'overlay', 0,
          'lowerdir=/,upperdir=%s/upper,workdir=%s/work' % (scratch, scratch))
    mount('/dev', new + '/dev', None, MS_BIND | MS_REC)
    mount('/sys', new + '/sys', None, MS_BIND | MS_REC)
    mount('proc', new + '/proc', 'proc', MS_NOSUID | MS_NODEV)
    mount('tmpfs', new + '/tmp', 'tmpfs', MS_NOSUID | MS_NODEV, 'mode=1777')
    mount('shm', new + '/dev/shm', 'tmpfs', MS_NOSUID | MS_NODEV, 'mode=1777')
    add_mounts(new, cfg.get('mounts', []))
    old = new + '/.skiff-oldroot'
    os.makedirs(old, exist_ok=True)
    if libc.syscall(155, new.encode(), old.encode()) != 0:  # pivot_root
        raise OSError(ctypes.get_errno(), 'pivot_root')
    os.chdir('/')
    libc.umount2(b'/.skiff-oldroot', MNT_DETACH)
    os.rmdir('/.skiff-oldroot')
    # The host's root dotfiles are not the image's: give the pod a stock root home (copy-on-write).
    for name in ('.bashrc', '.profile'):
        skel = os.path.join('/etc/skel', name)
        try:
            with open(skel, 'rb') as src, open(os.path.join('/root', name), 'wb') as dst:
                dst.write(src.read())
        except OSError:
            pass


def add_mounts(root, mounts):
    """The pod's files and volumes inside `root` (targets resolve inside it, never on the host)."""
    for m in mounts:
        target = resolve_in_root(root, m['target'])
        if m.get('type') == 'tmpfs':
            os.makedirs(target, exist_ok=True)
            mount('tmpfs', target, 'tmpfs', MS_NOSUID | MS_NODEV, 'mode=1777')
        else:
            bind(m['source'], target, m.get('readOnly', False))


# The minimal /dev of a container (what runc gives): name, major, minor.
DEVICES = (('null', 1, 3), ('zero', 1, 5), ('full', 1, 7), ('random', 1, 8), ('urandom', 1, 9),
           ('tty', 5, 0))
DEV_LINKS = (('fd', '/proc/self/fd'), ('stdin', '/proc/self/fd/0'), ('stdout', '/proc/self/fd/1'),
             ('stderr', '/proc/self/fd/2'), ('ptmx', 'pts/ptmx'))


def make_dev(dev):
    os.makedirs(dev, exist_ok=True)
    mount('tmpfs', dev, 'tmpfs', MS_NOSUID, 'mode=755,size=65536k')
    for name, major, minor in DEVICES:
        os.mknod(os.path.join(dev, name), stat.S_IFCHR | 0o666, os.makedev(major, minor))
        os.chmod(os.path.join(dev, name), 0o666)  # mknod's mode is masked by the umask
    for name, target in DEV_LINKS:
        os.symlink(target, os.path.join(dev, name))
    os.mkdir(os.path.join(dev, 'pts'))
    mount('devpts', os.path.join(dev, 'pts'), 'devpts', MS_NOSUID | MS_NOEXEC,
          'newinstance,ptmxmode=0666,mode=0620')
    os.mkdir(os.path.join(dev, 'shm'))
    mount('shm', os.path.join(dev, 'shm'), 'tmpfs', MS_NOSUID | MS_NODEV, 'mode=1777')


def is_whiteout(st):
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def copy_layers(layers, dest):
    """Where overlayfs is missing: apply the layers bottom-up into `dest`, reading their overlay
    whiteouts (char 0/0 deletes, trusted.overlay.opaque=y empties a directory first)."""
    for layer in layers:
        for dirpath, dirnames, filenames in os.walk(layer):
            rel = os.path.relpath(dirpath, layer)
            out = os.path.normpath(os.path.join(dest, rel))
            try:
                opaque = os.getxattr(dirpath, 'trusted.overlay.opaque', follow_symlinks=False) == b'y'
            except OSError:
                opaque = False
            if opaque and os.path.isdir(out) and not os.path.islink(out):
                shutil.rmtree(out)
            if rel != '.':
                st = os.lstat(dirpath)
                if os.path.lexists(out) and not (os.path.isdir(out) and not os.path.islink(out)):
                    os.unlink(out)
                os.makedirs(out, exist_ok=True)
                shutil.copystat(dirpath, out, follow_symlinks=False)
                os.lchown(out, st.st_uid, st.st_gid)
            for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                src, dst = os.path.join(dirpath, name), os.path.join(out, name)
                st = os.lstat(src)
                if os.path.isdir(dst) and not os.path.islink(dst):
                    shutil.rmtree(dst)
                elif os.path.lexists(dst):
                    os.unlink(dst)
                if is_whiteout(st):
                    continue
                if stat.S_ISLNK(st.st_mode):
                    os.symlink(os.readlink(src), dst)
                elif stat.S_ISREG(st.st_mode):
                    shutil.copy2(src, dst, follow_symlinks=False)
                else:
                    continue  # device nodes and fifos in an image are not copied
                os.lchown(dst, st.st_uid, st.st_gid)
                if not stat.S_ISLNK(st.st_mode):
                    os.chmod(dst, stat.S_IMODE(st.st_mode))


def enter_image_root(host_mnt, rootfs):
    """Run in a container's child before exec: the container's own root filesystem, an overlay of
    the image's layers with this attempt's upper dir (a copy where overlay is missing), with /proc,
    a minimal /dev, /sys read-only, the pod's /etc files and volumes; then pivot_root into it.
    Built from the host's mount namespace (the pod's has no view of the layers), in a private
    copy of it whose host mounts all go at the pivot, so the container holds none of them."""
    if libc.setns(host_mnt, CLONE_NEWNS) != 0 or libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), 'container mount namespace')
    mount(None, '/', None, MS_REC | MS_PRIVATE)
    root, layers = rootfs['root'], rootfs['layers']
    if rootfs.get('copy'):
        copy_layers(layers, root)
        mount(root, root, None, MS_BIND | MS_REC)
    else:
        # Relative lower paths keep the option string under its one-page limit.
        base = os.path.commonpath(layers) if len(layers) > 1 else os.path.dirname(layers[0])
        os.chdir(base)
        lower = ':'.join(os.path.relpath(l, base) for l in reversed(layers))
        mount('overlay', root, 'overlay', 0, 'lowerdir=%s,upperdir=%s,workdir=%s' % (
            lower, rootfs['upper'], rootfs['work']))
    proc = resolve_in_root(root, '/proc')
    os.makedirs(proc, exist_ok=True)
    mount('proc', proc, 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC)
    make_dev(resolve_in_root(root, '/dev'))
    sys_dir = resolve_in_root(root, '/sys')
    os.makedirs(sys_dir, exist_ok=True)
    try:
        mount('sysfs', sys_dir, 'sysfs', MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        bind('/sys', sys_dir, read_only=True)
    add_mounts(root, rootfs.get('mounts', []))
    os.chdir(root)
    if libc.syscall(155, b'.', b'.') != 0:  # pivot_root: the old root stacks under the new one
        raise OSError(ctypes.get_errno(), 'pivot_root')
    if libc.umount2(b'.', MNT_DETACH) != 0:
        raise OSError(ctypes.get_errno(), 'umount old root')
    os.chdir('/')


def exec_in_path(argv, env):
    """os.execvpe without its lazy `import warnings`: after pivot_root into an image there is no
    Python standard library to import from."""
    if '/' in argv[0]:
        os.execve(argv[0], argv, env)
    err = FileNotFoundError(2, 'No such file or directory', argv[0])
    path = env.get('PATH') or '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    for d in path.split(':'):
        try:
            os.execve(os.path.join(d or '.', argv[0]), argv, env)
        except (FileNotFoundError, NotADirectoryError) as e:
            err = e
        except PermissionError as e:
            err = e  # as execvp: remember it, keep looking
    err.filename = argv[0]
    raise err


def join_group(tty_fd, cgroup_procs):
    """In a container's (or exec's) process: a session of its own whose controlling terminal is
    the pty `tty_fd`, else a process group of its own; then the container's cgroups."""
    if tty_fd is not None:
        os.setsid()
        fcntl.ioctl(tty_fd, termios.TIOCSCTTY, 0)
    else:
        os.setpgid(0, 0)
    for procs in cgroup_procs or []:
        with open(procs, 'w') as f:
            f.write('0')


def exec_as(argv, env, uid, gid):
    """The last steps of a container's (or exec's) process: its user, the default signal
    dispositions and an empty mask (the shim's are not the app's), then exec."""
    if gid is not None:
        os.setgroups([])
        os.setgid(gid)
    if uid is not None:
        os.setuid(uid)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    exec_in_path(argv, env)


def now_rfc3339():
    ns = time.time_ns()
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(ns // 10**9)) + '.%09dZ' % (ns % 10**9)


class Log:
    """CRI log file: `<time> <stream> <P|F> <text>`; rotated at max_bytes into `<file>.1`."""

    def __init__(self, dir_fd, rel, max_bytes, eager=False):
        self.dir_fd, self.rel, self.max_bytes = dir_fd, rel, max_bytes
        # An interactive container's prompt ("name? ") has no newline yet: write it at once as a
        # partial record, so an attached client sees it (readers join partials as before).
        self.eager = eager
        self.fd = os.open(rel, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640, dir_fd=dir_fd)
        self.size = os.fstat(self.fd).st_size
        self.partial = {}

    def write(self, stream, data):
        buf = self.partial.pop(stream, b'') + data
        lines = buf.split(b'\n')
        rest = lines.pop()
        out = []
        ts = now_rfc3339().encode()
        for line in lines:
            out.append(b'%s %s F %s\n' % (ts, stream, line))
        if len(rest) >= 16384 or (rest and self.eager):
            out.append(b'%s %s P %s\n' % (ts, stream, rest))
        elif rest:
            self.partial[stream] = rest
        if out:
            self._emit(b''.join(out))

    def flush(self):
        ts = now_rfc3339().encode()
        for stream, rest in list(self.partial.items()):
            self._emit(b'%s %s P %s\n' % (ts, stream, rest))
        self.partial.clear()

    def _emit(self, data):
        if self.size + len(data) > self.max_bytes and self.size > 0:
            os.close(self.fd)
            os.replace(self.rel, self.rel + '.1', src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
            self.fd = os.open(self.rel, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640, dir_fd=self.dir_fd)
            self.size = 0
        os.write(self.fd, data)
        self.size += len(data)

    def close(self):
        self.flush()
        os.close(self.fd)


class Shim:
    def __init__(self, pod_dir, cfg, host_mnt=None):
        self.cfg = cfg
        self.host_mnt = host_mnt  # the host's mount namespace, where image roots are built
        self.dir_fd = os.open(pod_dir, os.O_RDONLY | os.O_DIRECTORY)
        self.sel = selectors.DefaultSelector()
        self.clients = {}
        self.containers = {}  # name -> state dict
        self.by_pid = {}
        self.pipes = {}  # fd -> (name, stream)
        self.logs = {}
        self.stdin_holders = {}  # name -> write end of the container's stdin FIFO, kept open
        self.stdin_relays = {}  # fd -> pty master: a TTY container's stdin copied to its terminal
        self.masters = {}  # name -> pty master of a TTY container
        # name -> what exec needs of the container (env, cwd, user, cgroups, own root): kept in
        # memory only (env holds secrets), and it outlives Skiff's restarts as the shim does.
        self.specs = {}
        self.stopping = False

    def save(self):
        data = json.dumps({'containers': self.containers}).encode()
        fd = os.open('state.json.tmp', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=self.dir_fd)
        os.write(fd, data)
        os.close(fd)
        os.replace('state.json.tmp', 'state.json', src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)

    def broadcast(self, msg):
        line = (json.dumps(msg) + '\n').encode()
        for conn in list(self.clients):
            try:
                conn.sendall(line)
            except OSError:
                self.drop(conn)

    def drop(self, conn):
        """Forgets a client and closes our copy of its connection (close, not shutdown: the
        connection lives on in an exec session that holds it)."""
        self.clients.pop(conn, None)
        try:
            self.sel.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()

    def start(self, req):
        name = req['name']
        old = self.containers.get(name)
        if old and old.get('pid') and not old.get('exit'):
            raise RuntimeError('container %s is still running' % name)
        tty = req.get('tty', False)
        self.specs[name] = {k: req.get(k) for k in ('env', 'cwd', 'uid', 'gid', 'cgroupProcs')}
        self.specs[name]['hasRoot'] = bool(req.get('rootfs'))
        log = Log(self.dir_fd, req['logFile'], req.get('maxLogBytes', 10 * 1024 * 1024),
                  eager=tty or 'stdinFile' in req)
        self.close_stdin(name)
        stdin_r = self.open_stdin(name, req['stdinFile']) if 'stdinFile' in req else None
        if tty:
            master, slave = os.openpty()
            out_r, out_w, err_r, err_w = master, slave, None, slave
        else:
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(ready_r)
                join_group(slave if tty else None, req['cgroupProcs'])
                if req.get('rootfs'):
                    if self.host_mnt is None:
                        raise RuntimeError('image root filesystems need an isolated sandbox')
                    enter_image_root(self.host_mnt, req['rootfs'])
                if tty:
                    os.dup2(slave, 0)
                elif stdin_r is not None:
                    os.dup2(stdin_r, 0)
                else:
                    os.dup2(os.open('/dev/null', os.O_RDONLY), 0)
                os.dup2(out_w, 1)
                os.dup2(err_w, 2)
                os.chdir(req.get('cwd') or '/')
                if req.get('uid') is not None and not tty:
                    # As runc's fixStdioPermissions: the stdio pipes belong to the container's
                    # user, who may reopen them (nginx's access_log /dev/stdout as uid 101).
                    gid = req.get('gid')
                    for fd in (1, 2):
                        os.fchown(fd, req['uid'], -1 if gid is None else gid)
                exec_as(req['argv'], req['env'], req.get('uid'), req.get('gid'))
            except BaseException as e:  # report why exec failed through the ready pipe
                try:
                    os.write(ready_w, str(e).encode()[:4000])
                finally:
                    os._exit(127)
        os.close(out_w)
        if err_w != out_w:
            os.close(err_w)
        os.close(ready_w)
        if stdin_r is not None:
            if tty:  # the shim copies what arrives to the terminal
                os.set_blocking(stdin_r, False)
                self.stdin_relays[stdin_r] = out_r
                self.sel.register(stdin_r, selectors.EVENT_READ, 'stdin')
            else:
                os.close(stdin_r)
        if tty:
            self.masters[name] = out_r
        # The ready pipe closes on a successful exec (CLOEXEC) or carries the exec error.
        err = b''
        while True:
            chunk = os.read(ready_r, 4096)
            if not chunk:
                break
            err += chunk
        os.close(ready_r)
        st = {'name': name, 'attempt': req['attempt'], 'pid': pid, 'startedAt': now_rfc3339(), 'exit': None}
        if err:
            log.write(b'stderr', err + b'\n')
            st['startError'] = err.decode(errors='replace')
        if name in self.logs:
            self.logs[name].close()
        self.logs[name] = log
        for fd, stream in ((out_r, b'stdout'), (err_r, b'stderr')):
            if fd is None:
                continue
            os.set_blocking(fd, False)
            self.pipes[fd] = (name, stream, log)
            self.sel.register(fd, selectors.EVENT_READ, 'pipe')
        self.containers[name] = st
        self.by_pid[pid] = name
        self.save()
        self.reap()
        return st

    def open_stdin(self, name, rel):
        """Makes the container's stdin FIFO; returns its read end. The shim holds a write end open
        so the container sees no EOF between attaches, until close_stdin (stdinOnce)."""
        try:
            os.unlink(rel, dir_fd=self.dir_fd)
        except FileNotFoundError:
            pass
        os.mkfifo(rel, 0o600, dir_fd=self.dir_fd)
        # Read end first, non-blocking, so neither open waits for the other side.
        r = os.open(rel, os.O_RDONLY | os.O_NONBLOCK, dir_fd=self.dir_fd)
        self.stdin_holders[name] = os.open(rel, os.O_WRONLY | os.O_NONBLOCK, dir_fd=self.dir_fd)
        os.set_blocking(r, True)
        return r

    def close_stdin(self, name):
        """Lets the container's stdin reach EOF once the attached writers are gone."""
        fd = self.stdin_holders.pop(name, None)
        if fd is not None:
            os.close(fd)

    def on_stdin(self, fd):
        master = self.stdin_relays[fd]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        try:
            # Every writer gone (stdinOnce) ends the input as a terminal's ^D does.
            os.write(master, data or b'\x04')
            if data:
                return
        except OSError:
            pass  # the terminal is gone: the container exited
        self.drop_relay(fd)

    def drop_relay(self, fd):
        self.sel.unregister(fd)
        del self.stdin_relays[fd]
        os.close(fd)

    def resize(self, name, width, height):
        master = self.masters.get(name)
        if master is not None:
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', height, width, 0, 0))

    def on_pipe(self, fd):
        name, stream, log = self.pipes[fd]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: a pty whose last user is gone reads as an error, not as EOF
            data = b''
        if data:
            log.write(stream, data)
            return
        self.sel.unregister(fd)
        # A closed pty master's number may be reused: forget whatever still points at it.
        for relay, master in list(self.stdin_relays.items()):
            if master == fd:
                self.drop_relay(relay)
        if self.masters.get(name) == fd:
            del self.masters[name]
        os.close(fd)
        del self.pipes[fd]
        log.flush()

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            name = self.by_pid.pop(pid, None)
            if name is None:
                continue  # an orphan re-parented to us: reaping it is all PID 1 owes it
            st = self.containers[name]
            # Drain what the container wrote before it died so logs are complete.
            for fd, (n, _s, _l) in list(self.pipes.items()):
                if n == name:
                    self.on_pipe(fd)
            try:
                os.killpg(pid, signal.SIGKILL)  # the container's leftover processes die with it
            except OSError:
                pass
            st['exit'] = {
                'exitCode': os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status),
                'signal': os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0,
                'finishedAt': now_rfc3339(),
            }
            # Tell Skiff first (pod NotReady within a few ms of the exit), then persist.
            self.broadcast({'event': 'exit', 'container': st})
            self.save()

    def handle(self, conn, req, rest=b''):
        """Answers one request; True when an exec session took the connection over."""
        op = req.get('op')
        try:
            check_request(req)
            if op == 'exec':
                self.exec(conn, req, rest)
                return True
            if op == 'start':
                res = {'container': self.start(req)}
            elif op == 'signal':
                st = self.containers.get(req['name'])
                if st and not st.get('exit'):
                    target = -st['pid'] if req.get('group') else st['pid']
                    os.kill(target, req['signal'])
                res = {}
            elif op == 'closeStdin':
                self.close_stdin(req['name'])
                res = {}
            elif op == 'resize':
                self.resize(req['name'], req['width'], req['height'])
                res = {}
            elif op == 'state':
                res = {'containers': self.containers}
            elif op == 'shutdown':
                self.stopping = True
                res = {}
            else:
                raise RuntimeError('unknown op %r' % op)
            res['ok'] = True
        except Exception as e:
            res = {'ok': False, 'error': str(e)}
        res['id'] = req.get('id')
        conn.sendall((json.dumps(res) + '\n').encode())
        return False

    def exec(self, conn, req, rest):
        """kubectl exec, probes and hooks: a session process of ours (so already in the pod's
        namespaces, as root) runs the command with the container's env, cwd, user and cgroups, in
        its own root when it has one, and relays its streams over this connection."""
        name = req['name']
        spec = self.specs.get(name)
        if spec is None:
            raise RuntimeError('container %s not found' % name)
        st = self.containers[name]
        running = st.get('pid') and not st.get('exit') and not st.get('startError')
        if spec['hasRoot'] and not running:
            raise RuntimeError('container %s is not running' % name)
        pid = os.fork()
        if pid != 0:
            self.drop(conn)  # our copy only: the session's stays open; reap() collects the session
            return
        code = 0
        try:
            fd = conn.detach()
            # Nothing of the shim's stays open here: a FIFO write end held by a session would
            # keep a container's stdin from its EOF, a client socket its close.
            signal.set_wakeup_fd(-1)
            os.closerange(3, fd)
            os.closerange(fd + 1, MAX_FD)
            libc.prctl(15, b'skiff-exec', 0, 0, 0)  # PR_SET_NAME
            root_pid = st['pid'] if spec['hasRoot'] else None
            exec_session(socket.socket(fileno=fd), rest, req, spec, root_pid)
        except BaseException as e:
            sys.stderr.write('skiff-shim: exec %s: %s\n' % (name, e))
            code = 1
        finally:
            os._exit(code)

    def on_client(self, conn):
        try:
            data = conn.recv(65536)
        except OSError:
            data = b''
        if not data:
            self.drop(conn)
            return
        buf = self.clients[conn] + data
        while True:
            nl = buf.find(b'\n')
            if nl < 0:
                break
            line, buf = buf[:nl], buf[nl + 1:]
            # After an exec request the connection carries the session's frames, not requests.
            try:
                req = json.loads(line) if line.strip() else None
            except ValueError:
                self.drop(conn)  # not the protocol (say, frames after a refused exec): hang up
                return
            if req is not None and self.handle(conn, req, buf):
                return
        self.clients[conn] = buf

    def shutdown(self):
        # Everything else in the PID namespace dies with PID 1; SIGKILL first so logs get flushed.
        for st in self.containers.values():
            if not st.get('exit'):
                try:
                    os.killpg(st['pid'], signal.SIGKILL)
                except OSError:
                    pass
        deadline = time.monotonic() + 5
        while self.by_pid and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.01)
        for log in self.logs.values():
            log.close()
        self.save()

    def run(self, listener):
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda *_: setattr(self, 'stopping', True))
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        self.sel.register(wake_r, selectors.EVENT_READ, 'wake')
        self.sel.register(listener, selectors.EVENT_READ, 'listen')
        sys.stdout.write('ready\n')
        sys.stdout.flush()
        null = os.open('/dev/null', os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.close(null)
        while not self.stopping:
            for key, _ in self.sel.select(1.0):
                if key.data == 'wake':
                    try:
                        os.read(wake_r, 512)
                    except BlockingIOError:
                        pass
                    self.reap()
                elif key.data == 'listen':
                    conn, _ = listener.accept()
                    self.clients[conn] = b''
                    self.sel.register(conn, selectors.EVENT_READ, 'client')
                elif key.data == 'pipe':
                    if key.fd in self.pipes:
                        self.on_pipe(key.fd)
                elif key.data == 'stdin':
                    if key.fd in self.stdin_relays:
                        self.on_stdin(key.fd)
                elif key.data == 'client':
                    self.on_client(key.fileobj)
            self.reap()
        self.shutdown()



# An exec session's frames (shim-protocol.json "streams"): channel byte, big-endian length, data.
FRAME = struct.Struct('>BI')
EXEC_CHANNELS = PROTOCOL['streams']['exec']
TO_SHIM = EXEC_CHANNELS['toShim']
FROM_SHIM = EXEC_CHANNELS['fromShim']
MAX_FD = 1 << 16


def apply_resize(fd, payload):
    """Applies one resize message ({"Width": w, "Height": h}, as kubectl sends them) to a pty;
    anything else is ignored."""
    try:
        m = json.loads(payload)
    except ValueError:
        return False
    if not isinstance(m, dict) or not m.get('Width') or not m.get('Height'):
        return False
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', m['Height'], m['Width'], 0, 0))
    return True


def parse_frames(buf):
    """Complete frames of a buffer as (channel, payload), and the rest."""
    frames = []
    while len(buf) >= FRAME.size:
        ch, n = FRAME.unpack_from(buf)
        if len(buf) < FRAME.size + n:
            break
        frames.append((ch, buf[FRAME.size:FRAME.size + n]))
        buf = buf[FRAME.size + n:]
    return frames, buf


def exec_child(req, spec, root_pid, stdio, tty):
    """In the command's process: the container's cgroups, root, cwd and user, then exec. Never
    returns; a command that cannot start exits 126 (127: not found) with the reason on stderr."""
    try:
        join_group(stdio[0] if tty else None, spec.get('cgroupProcs'))
        for i, fd in enumerate(stdio):
            os.dup2(fd, i)
        if root_pid is not None:
            ns = os.open('/proc/%d/ns/mnt' % root_pid, os.O_RDONLY)
            if libc.setns(ns, CLONE_NEWNS) != 0:
                raise OSError(ctypes.get_errno(), 'setns: %s' % os.strerror(ctypes.get_errno()))
        try:
            os.chdir(spec.get('cwd') or '/')
        except OSError:
            os.chdir('/')  # as a shell's failed `cd`: the command still runs
        env = dict(spec.get('env') or {})
        if tty:
            env['TERM'] = 'xterm'
        exec_as(req['argv'], env, spec.get('uid'), spec.get('gid'))
    except BaseException as e:
        missing = isinstance(e, FileNotFoundError)
        why = 'executable file not found in $PATH' if missing else str(e)
        os.write(2, ('exec: "%s": %s\n' % (req['argv'][0] if req['argv'] else '', why)).encode())
        os._exit(127 if missing else 126)


def exec_session(conn, pending, req, spec, root_pid):
    """Runs one exec and relays it: stdin/resize frames in, stdout/stderr frames out, then the
    exit frame. The client hanging up kills the command."""
    tty = bool(req.get('tty'))
    with_stdin = bool(req.get('stdin'))
    if tty:
        master, slave = os.openpty()
        stdio, outs, stdin_w = (slave, slave, slave), {master: FROM_SHIM['stdout']}, master
    else:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, stdin_w = os.pipe() if with_stdin else (os.open('/dev/null', os.O_RDONLY), None)
        stdio, outs = (in_r, out_w, err_w), {out_r: FROM_SHIM['stdout'], err_r: FROM_SHIM['stderr']}
    pid = os.fork()
    if pid == 0:
        exec_child(req, spec, root_pid, stdio, tty)
    for fd in set(stdio):
        os.close(fd)
    conn.sendall((json.dumps({'id': req.get('id'), 'ok': True}) + '\n').encode())
    try:
        status = relay_session(conn, pending, pid, outs, stdin_w, tty)
    except OSError:
        status = None  # the client is gone
    if status is None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        _, status = os.waitpid(pid, 0)
        return
    code = os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    conn.sendall(frame(FROM_SHIM['exit'], json.dumps({'exitCode': code}).encode()))
    conn.close()


def frame(ch, data):
    return FRAME.pack(ch, len(data)) + data


def relay_session(conn, pending, pid, outs, stdin_w, tty):
    """Copies until the command exited and its output closed; its wait status, or None when the
    client hung up first."""
    sel = selectors.DefaultSelector()
    for fd in outs:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ, 'out')
    try:
        pidfd = os.pidfd_open(pid)
        sel.register(pidfd, selectors.EVENT_READ, 'exit')
    except (AttributeError, OSError):
        pidfd = None  # before Linux 5.3: poll for the exit
    conn.setblocking(True)
    sel.register(conn, selectors.EVENT_READ, 'conn')
    if stdin_w is not None and not tty:
        os.set_blocking(stdin_w, False)
    inbuf, to_stdin, stdin_done, status = pending, b'', stdin_w is None, None
    wants_write = False
    while outs or status is None:
        frames, inbuf = parse_frames(inbuf)
        for ch, payload in frames:
            if ch == TO_SHIM['stdin'] and not stdin_done:
                to_stdin += payload
            elif ch == TO_SHIM['closeStdin'] and not stdin_done:
                stdin_done = True
                if tty:
                    to_stdin += b'\x04'  # a terminal's end of input
            elif ch == TO_SHIM['resize'] and tty:
                apply_resize(stdin_w, payload)
        if stdin_w is not None and to_stdin and not wants_write and not tty:
            sel.register(stdin_w, selectors.EVENT_WRITE, 'in')
            wants_write = True
        if tty and to_stdin:
            try:
                to_stdin = to_stdin[os.write(stdin_w, to_stdin):]
            except BlockingIOError:
                pass
            except OSError:
                to_stdin = b''
        if not tty and stdin_w is not None and stdin_done and not to_stdin:
            if wants_write:
                sel.unregister(stdin_w)
                wants_write = False
            os.close(stdin_w)
            stdin_w = None
        # Blocks until a stream or the exit (pidfd) wakes us; without a pidfd, polls for the exit.
        for key, _ in sel.select(0.05 if status is None and pidfd is None else None):
            if key.data == 'conn':
                data = conn.recv(65536)
                if not data:
                    return None
                inbuf += data
            elif key.data == 'out':
                try:
                    data = os.read(key.fd, 65536)
                except BlockingIOError:
                    continue
                except OSError:  # EIO: the pty's last user is gone
                    data = b''
                if data:
                    conn.sendall(frame(outs[key.fd], data))
                else:
                    sel.unregister(key.fd)
                    del outs[key.fd]
                    if key.fd != stdin_w:
                        os.close(key.fd)
            elif key.data == 'in':
                try:
                    to_stdin = to_stdin[os.write(key.fd, to_stdin):]
                except BlockingIOError:
                    pass
                except OSError:  # the command closed its stdin: drop what it will not read
                    to_stdin = b''
                if not to_stdin:
                    sel.unregister(key.fd)
                    wants_write = False
            elif key.data == 'exit':
                sel.unregister(key.fd)
        if status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                if pidfd is not None and pidfd in sel.get_map():
                    sel.unregister(pidfd)
    return status

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = (
    0x00020000, 0x04000000, 0x08000000, 0x20000000, 0x40000000)
SIOCSIFADDR, SIOCSIFNETMASK, SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCADDRT = 0x8916, 0x891C, 0x8913, 0x8914, 0x890B
IFF_UP, RTF_UP, RTF_GATEWAY = 1, 1, 2


def sockaddr_in(ip):
    return struct.pack('=H2s4s8x', socket.AF_INET, b'', socket.inet_aton(ip))


def configure_network(ip, prefix_length, gateway):
    """lo and eth0 up, eth0's address, default route: what `ip -n` would do, without a process."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        def ifreq(name, payload):
            return struct.pack('16s24s', name, payload)

        def up(name):
            flags = struct.unpack('16sH22x', fcntl.ioctl(s, SIOCGIFFLAGS, ifreq(name, b'')))[1]
            fcntl.ioctl(s, SIOCSIFFLAGS, ifreq(name, struct.pack('H', flags | IFF_UP)))

        up(b'lo')
        fcntl.ioctl(s, SIOCSIFADDR, ifreq(b'eth0', sockaddr_in(ip)))
        mask = socket.inet_ntoa(struct.pack('!I', (0xFFFFFFFF << (32 - prefix_length)) & 0xFFFFFFFF))
        fcntl.ioctl(s, SIOCSIFNETMASK, ifreq(b'eth0', sockaddr_in(mask)))
        up(b'eth0')
        # struct rtentry (linux/route.h), native layout: pad1, dst, gateway, genmask, flags, ...
        rt = struct.pack('@L16s16s16sHhLPhPLLH', 0, sockaddr_in('0.0.0.0'), sockaddr_in(gateway),
                         sockaddr_in('0.0.0.0'), RTF_UP | RTF_GATEWAY, 0, 0, 0, 0, 0, 0, 0, 0)
        fcntl.ioctl(s, SIOCADDRT, rt)
    finally:
        s.close()


def allow_low_ports():
    """Any user of the pod may bind ports below 1024 in its own network namespace, as Docker and
    containerd set net.ipv4.ip_unprivileged_port_start=0 (a non-root ingress-nginx binds port 80).
    /proc/sys/net is the opener's network namespace: the pod's, joined just before."""
    try:
        with open('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'w') as f:
            f.write('0')
    except OSError:
        pass  # kernels before 4.11 lack it: such a pod needs root or hostNetwork for low ports


def rename_netns(src, dst):
    """Give a spare network namespace the pod's name: what `ip netns` would do in two processes
    (the name is a bind mount of the namespace; we are still in the host's mount namespace)."""
    os.close(os.open(dst, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    try:
        mount(src, dst, None, MS_BIND)
    except OSError:
        os.unlink(dst)  # no plain file where the pod's namespace should be: a retry starts clean
        raise
    if libc.umount2(src.encode(), MNT_DETACH) != 0:
        raise OSError(ctypes.get_errno(), 'umount %s' % src)
    os.unlink(src)


def injected_fault(pod_dir):
    """TEST ONLY: the text of <data dir>/test-fault-sandbox-setup, when that file exists, makes
    sandbox setup fail with it (the FailedCreatePodSandBox retry test). Never present otherwise."""
    try:
        with open(os.path.join(os.path.dirname(os.path.dirname(pod_dir)), 'test-fault-sandbox-setup')) as f:
            return f.read().strip() or 'injected fault'
    except OSError:
        return None


def enter_namespaces(cfg):
    """Join the pod's network namespace and make the rest (the PID namespace is ours already)."""
    if cfg.get('netnsFrom'):
        rename_netns(cfg['netnsFrom'], cfg['netnsPath'])
    if cfg.get('netnsPath'):
        fd = os.open(cfg['netnsPath'], os.O_RDONLY)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), 'setns %s' % cfg['netnsPath'])
        os.close(fd)
        net = cfg.get('network')
        if net:
            configure_network(net['ip'], net['prefixLength'], net['gateway'])
            allow_low_ports()
    flags = CLONE_NEWNS | CLONE_NEWIPC
    if not cfg.get('shareHostUTS'):
        flags |= CLONE_NEWUTS
    if libc.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), 'unshare')


def main():
    # Our process name must not be `python3`: `killall python3` inside the pod targets the app only.
    libc.prctl(15, b'skiff-pause', 0, 0, 0)  # PR_SET_NAME
    # Skiff starts us ahead of time (a warm spare, or while the pod's network and volumes are made)
    # over a connection the reaper handed us as stdin/stdout: first a line saying whether pods get
    # namespaces, later the sandbox config as one line when a pod needs us. EOF: not needed.
    prep = json.loads(sys.stdin.buffer.readline() or b'null')
    if not prep:
        os._exit(0)
    isolated = prep.get('isolated')
    if isolated and libc.unshare(CLONE_NEWPID) != 0:
        die('sandbox setup failed: unshare: %s' % os.strerror(ctypes.get_errno()))
    # Double fork, done before the config arrives (off the pod's critical path): the child is PID 1
    # of the new PID namespace; the middle process exits at once and the shim is re-parented to the
    # shim reaper (reaper.py, our parent and a subreaper), which reaps it whenever it exits,
    # whether or not the Skiff that started it still runs. The rest of the namespaces are made
    # once the pod is known (a fresh mount namespace would not see mounts made after it).
    if os.fork() != 0:
        os._exit(0)
    os.setsid()
    line = sys.stdin.buffer.readline()
    if not line.strip():
        os._exit(0)
    cfg = json.loads(line)
    pod_dir = cfg['podDir']
    log_fd = os.open(os.path.join(pod_dir, 'shim.log'), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    if bool(cfg.get('isolated')) != bool(isolated):
        die('sandbox setup failed: the shim was started for %s pods' % ('isolated' if isolated else 'reduced-mode'))
    fault = injected_fault(pod_dir)
    if fault:
        die('sandbox setup failed: %s' % fault)
    # Kept for containers with image roots: they are built in (a copy of) this mount namespace.
    host_mnt = os.open('/proc/self/ns/mnt', os.O_RDONLY) if isolated else None
    if isolated:
        try:
            enter_namespaces(cfg)
        except OSError as e:
            die('sandbox setup failed: %s' % e)
    # NSpid from the host's /proc (before our own /proc is mounted): our PID as Skiff sees it.
    with open('/proc/self/status') as f:
        nspid = [l.split()[1] for l in f if l.startswith('NSpid:')]
    with open('/proc/self/stat') as f:
        start_ticks = f.read().rsplit(')', 1)[1].split()[19]
    sock_path = cfg['socket']
    try:
        os.unlink(sock_path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(16)
    with open(os.path.join(pod_dir, 'shim.json.tmp'), 'w') as f:
        json.dump({'pid': int(nspid[0]) if nspid else os.getpid(), 'startTicks': int(start_ticks)}, f)
    os.replace(os.path.join(pod_dir, 'shim.json.tmp'), os.path.join(pod_dir, 'shim.json'))
    shim = Shim(pod_dir, cfg, host_mnt)  # opens the pod dir before the host root goes out of view
    if isolated:
        try:
            if cfg.get('hostname') and not cfg.get('shareHostUTS'):
                socket.sethostname(cfg['hostname'])
            build_rootfs(pod_dir, cfg)
        except OSError as e:
            die('sandbox setup failed: %s' % e)
    shim.run(listener)


if __name__ == '__main__':
    main()
