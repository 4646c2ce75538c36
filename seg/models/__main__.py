"""The released models: ``python -m seg.models list [--index FILE]`` prints the model index
(config, published file, reported numbers with their source, measured speed)."""
import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='python -m seg.models', description=__doc__)
    commands = parser.add_subparsers(dest='command', required=True)
    listing = commands.add_parser('list', help='print the model index')
    listing.add_argument('--index', help='another model index file (default: the shipped '
                         'configs/model-index.yml)')
    args = parser.parse_args(argv)
    from seg.apis.pretrained import format_model_index, load_model_index
    print(format_model_index(load_model_index(args.index)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
