# Skiff's pty broker for `kubectl exec -t` (what the container runtime's exec with a terminal does):
# runs in the pod's root, allocates a pty, runs the command on it, relays stdin/stdout, applies
# the resize messages read from fd 3 (JSON lines {"Width": w, "Height": h}, as kubectl sends them
# on channel 4) with TIOCSWINSZ, and exits with the command's exit code.
import ctypes
import fcntl
import json
import os
import pty
import select
import struct
import sys
import termios


def resize(fd, line):
    """Applies one resize message; anything else is ignored."""
    try:
        m = json.loads(line)
    except ValueError:
        return False
    if not isinstance(m, dict) or not m.get('Width') or not m.get('Height'):
        return False
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', m['Height'], m['Width'], 0, 0))
    return True


def split_lines(buf):
    """Complete lines of a buffer, and the rest."""
    *lines, rest = buf.split(b'\n')
    return lines, rest


def relay(fd, resize_fd=3):
    """Copies the pty to stdout and stdin to the pty until the pty closes."""
    fds, buf = [0, resize_fd, fd], b''
    while True:
        r, _, _ = select.select(fds, [], [])
        if fd in r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                d = b''
            if not d:
                return
            os.write(1, d)
        if 0 in r:
            d = os.read(0, 65536)
            if not d:
                fds.remove(0)
            else:
                os.write(fd, d)
        if resize_fd in r:
            d = os.read(resize_fd, 4096)
            if not d:
                fds.remove(resize_fd)
                continue
            lines, buf = split_lines(buf + d)
            for line in lines:
                resize(fd, line)


def main(argv):
    ctypes.CDLL(None).prctl(15, b'skiff-pty', 0, 0, 0)  # PR_SET_NAME: not `python3` in ps
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            sys.stderr.write('%s: %s\n' % (argv[0], e.strerror))
            os._exit(127)
    relay(fd)
    _, st = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(st)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
