"""`smetsbench bench-init DIR`: create a bench directory (test PKI, remote parties, bench.toml).

    from smetsbench.tools.benchinit import bench_init
    bench = bench_init("lab")        # lab/bench.toml, lab/pki/, lab/parties/, lab/devices/

The bench's remote parties get KA and DS keys and SMKI-profile organisation certificates from
the bench's Organisation CA; `smetsbench provision` then issues device identities from its
Device CA. See smetsbench.tools.benchdir for the layout.
"""

from smetsbench.tools.benchdir import BenchDir
from smetsbench.tools.errors import cli_command


def bench_init(path, name=None, out=None):
    """Create a bench in directory `path` (made if needed); BenchError if one is there."""
    bench = BenchDir.create(path, name=name)
    if out:
        out("bench %r created in %s" % (bench.name, bench.path))
        out("  PKI:      %s (root, device CA, organisation CA; TEST keys)" % bench.pki_dir)
        out("  parties:  %s (%d remote parties, KA and DS keys and certificates)"
            % (bench.parties_dir, len(bench.dcc().parties)))
        out("  devices:  %s" % bench.devices_dir)
        out("  boards:   %s (add boards with `smetsbench provision --bench %s --port PORT "
            "--role ESME`)" % (bench.file, path))
    return bench


def register(sub):
    p = sub.add_parser(
        "bench-init",
        help="create a bench directory: test PKI, remote parties, bench.toml",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("dir", help="bench directory to create (e.g. ./bench)")
    p.add_argument("--name", help="bench name (default: the directory name)")
    p.set_defaults(func=_main)


@cli_command
def _main(args):
    bench_init(args.dir, name=args.name, out=print)
    return 0
