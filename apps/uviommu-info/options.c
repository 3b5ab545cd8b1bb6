/* SPDX-License-Identifier: BSD-3-Clause */
#include <getopt.h>
#include <string.h>

#include "info.h"

int info_parse_opts(int argc, char **argv, int allow_endpoint, struct info_opts *o)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "topology", required_argument, NULL, 't' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->src.viot_path = optarg; break;
		case 't': o->src.text_path = optarg; break;
		case 'j': o->json = 1; break;
		case 'e':
			if (!allow_endpoint)
				return info_usage_error("%s: --endpoint is not an option of this command",
							argv[0]);
			o->endpoint = optarg;
			break;
		default:
			return info_usage_error("%s: unknown option or missing argument '%s'",
						argv[0], argv[optind - 1]);
		}
	}
	if (optind < argc)
		return info_usage_error("%s: unexpected argument '%s'", argv[0], argv[optind]);
	if (o->src.viot_path && o->src.text_path)
		return info_usage_error("%s: give --file or --topology, not both", argv[0]);
	return 0;
}
