"""Prints the CPU seconds (user + system, all threads) used so far by a
process alone and by it and every process below it, read from /proc: the
bench reads them before and after a measured window to charge each server
its whole tree (ciel's server and its workers; a gunicorn master and its
workers) and to show what the front end (the root process: ciel's Go
server, the bare relay) takes of it."""
import os
import sys


def tree_cpu(root):
    """(the root's own CPU seconds, its whole tree's)."""
    parent, ticks = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # ended meanwhile
        # The command name, in parentheses, may hold spaces: split after it.
        fields = stat[stat.rindex(")") + 2:].split()
        pid = int(name)
        parent[pid] = int(fields[1])
        ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo.extend(p for p, pp in parent.items() if pp == pid)
    tick = os.sysconf("SC_CLK_TCK")
    return ticks.get(root, 0) / tick, total / tick


if __name__ == "__main__":
    print("%.2f %.2f" % tree_cpu(int(sys.argv[1])))
