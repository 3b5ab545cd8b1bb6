/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Text topology format, for guests whose firmware has no ACPI VIOT
 * (microvm-style machines, device-tree guests). One statement per line,
 * '#' starts a comment, fields are separated by blanks:
 *
 *   iommu NAME virtio-pci SSSS:BB:DD.F
 *   iommu NAME virtio-mmio BASE
 *   pci-range NAME FIRST LAST ENDPOINT_START   (FIRST, LAST: SSSS:BB:DD.F)
 *   mmio NAME BASE ENDPOINT_ID
 *
 * Numbers are decimal or 0x-prefixed hex. An IOMMU is declared before it
 * is used. "Offsets" in the model are line numbers. The model goes through
 * the same checks as a VIOT (see builder.c). Full description:
 * doc/topology-format.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uviommu/topology.h>

#include "builder.h"
#include "../common/error_internal.h"

#define LINE_MAX_LEN 256
#define MAX_FIELDS 6
#define NAME_MAX_LEN 32

struct text_parser {
	struct topo_builder b;
	unsigned line;
	char (*names)[NAME_MAX_LEN]; /* names[i] is the name of iommus[i] */
	size_t cap_names;
};

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	int base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -1;
		if (v > (max - d) / (unsigned)base)
			return -1;
		v = v * (unsigned)base + d;
	}
	*out = v;
	return 0;
}

static int syntax_error(const struct text_parser *p, const char *what, const char *field)
{
	return uvi_fail(-EINVAL, "topology file: line %u: %s '%s'", p->line, what, field);
}

static int parse_number(const struct text_parser *p, const char *s, uint64_t max,
			uint64_t *out)
{
	if (parse_u64(s, max, out))
		return syntax_error(p, "expected a number (decimal or 0x hex) in range, got", s);
	return 0;
}

static int parse_pci(const struct text_parser *p, const char *s, struct viommu_pci_addr *a)
{
	if (viommu_pci_addr_parse(s, a))
		return syntax_error(p, "expected a PCI address SSSS:BB:DD.F, got", s);
	return 0;
}

static int find_iommu(const struct text_parser *p, const char *name, uint32_t *line)
{
	for (size_t i = 0; i < p->b.topo->n_iommus; i++) {
		if (strcmp(p->names[i], name) == 0) {
			*line = p->b.topo->iommus[i].offset;
			return 0;
		}
	}
	return syntax_error(p, "unknown IOMMU (declare it with an 'iommu' line first)", name);
}

static int remember_name(struct text_parser *p, const char *name)
{
	size_t n = p->b.topo->n_iommus;

	if (strlen(name) >= NAME_MAX_LEN)
		return syntax_error(p, "IOMMU name longer than 31 characters", name);
	for (size_t i = 0; i < n; i++)
		if (strcmp(p->names[i], name) == 0)
			return syntax_error(p, "IOMMU name declared twice", name);
	if (n == p->cap_names) {
		size_t cap = p->cap_names ? p->cap_names * 2 : 8;
		void *q = realloc(p->names, cap * sizeof(*p->names));

		if (!q)
			return uvi_fail(-ENOMEM, "topology file: out of memory");
		p->names = q;
		p->cap_names = cap;
	}
	strcpy(p->names[n], name);
	return 0;
}

static int parse_iommu(struct text_parser *p, char **f, int nf)
{
	struct viommu_topo_iommu m = { .offset = p->line };
	uint64_t base;
	int rc;

	if (nf != 4)
		return syntax_error(p, "expected 'iommu NAME virtio-pci|virtio-mmio ADDRESS', got", f[0]);
	if (strcmp(f[2], "virtio-pci") == 0) {
		m.type = VIOMMU_NODE_VIRTIO_PCI_IOMMU;
		rc = parse_pci(p, f[3], &m.pci);
	} else if (strcmp(f[2], "virtio-mmio") == 0) {
		m.type = VIOMMU_NODE_VIRTIO_MMIO_IOMMU;
		rc = parse_number(p, f[3], UINT64_MAX, &base);
		m.base = base;
	} else {
		return syntax_error(p, "unknown IOMMU type (virtio-pci or virtio-mmio)", f[2]);
	}
	if (!rc)
		rc = remember_name(p, f[1]);
	return rc ? rc : topo_builder_add_iommu(&p->b, &m);
}

static int parse_pci_range(struct text_parser *p, char **f, int nf)
{
	struct viommu_topo_endpoint ep = { .offset = p->line, .type = VIOMMU_NODE_PCI_RANGE };
	struct viommu_pci_addr first, last;
	uint64_t start;
	int rc;

	if (nf != 5)
		return syntax_error(p, "expected 'pci-range IOMMU FIRST LAST ENDPOINT_START', got", f[0]);
	rc = find_iommu(p, f[1], &ep.iommu_offset);
	if (!rc)
		rc = parse_pci(p, f[2], &first);
	if (!rc)
		rc = parse_pci(p, f[3], &last);
	if (!rc)
		rc = parse_number(p, f[4], UINT32_MAX, &start);
	if (rc)
		return rc;
	ep.segment_start = first.segment;
	ep.segment_end = last.segment;
	ep.bdf_start = first.bdf;
	ep.bdf_end = last.bdf;
	ep.endpoint_start = (uint32_t)start;
	return topo_builder_add_endpoint(&p->b, &ep);
}

static int parse_mmio(struct text_parser *p, char **f, int nf)
{
	struct viommu_topo_endpoint ep = { .offset = p->line, .type = VIOMMU_NODE_MMIO_ENDPOINT };
	uint64_t id;
	int rc;

	if (nf != 4)
		return syntax_error(p, "expected 'mmio IOMMU BASE ENDPOINT_ID', got", f[0]);
	rc = find_iommu(p, f[1], &ep.iommu_offset);
	if (!rc)
		rc = parse_number(p, f[2], UINT64_MAX, &ep.base);
	if (!rc)
		rc = parse_number(p, f[3], UINT32_MAX, &id);
	if (rc)
		return rc;
	ep.endpoint_id = (uint32_t)id;
	return topo_builder_add_endpoint(&p->b, &ep);
}

/* Split a line in place into blank-separated fields; stops at '#'. */
static int split_fields(struct text_parser *p, char *line, char **f)
{
	int nf = 0;
	char *save = NULL;
	char *hash = strchr(line, '#');

	if (hash)
		*hash = '\0';
	for (char *tok = strtok_r(line, " \t\r", &save); tok;
	     tok = strtok_r(NULL, " \t\r", &save)) {
		if (nf == MAX_FIELDS)
			return syntax_error(p, "too many fields, starting at", tok);
		f[nf++] = tok;
	}
	return nf;
}

static int parse_line(struct text_parser *p, char *line)
{
	char *f[MAX_FIELDS];
	int nf = split_fields(p, line, f);

	if (nf <= 0)
		return nf;
	if (strcmp(f[0], "iommu") == 0)
		return parse_iommu(p, f, nf);
	if (strcmp(f[0], "pci-range") == 0)
		return parse_pci_range(p, f, nf);
	if (strcmp(f[0], "mmio") == 0)
		return parse_mmio(p, f, nf);
	return syntax_error(p, "unknown statement (iommu, pci-range or mmio)", f[0]);
}

/* Copy the next line of text[pos..size) into buf; returns bytes consumed. */
static int next_line(struct text_parser *p, const char *text, size_t size, size_t pos,
		     char *buf, size_t *consumed)
{
	size_t len = 0;

	while (pos + len < size && text[pos + len] != '\n') {
		if (text[pos + len] == '\0')
			return uvi_fail(-EINVAL, "topology file: line %u: NUL byte", p->line);
		if (len == LINE_MAX_LEN - 1)
			return uvi_fail(-EINVAL, "topology file: line %u: longer than %d characters",
					   p->line, LINE_MAX_LEN - 1);
		buf[len] = text[pos + len];
		len++;
	}
	buf[len] = '\0';
	*consumed = len + (pos + len < size); /* the newline, if any */
	return 0;
}

static int parse_all(struct text_parser *p, const char *text, size_t size)
{
	char buf[LINE_MAX_LEN];

	for (size_t pos = 0; pos < size;) {
		size_t consumed = 0;
		int rc;

		p->line++;
		rc = next_line(p, text, size, pos, buf, &consumed);
		if (!rc)
			rc = parse_line(p, buf);
		if (rc)
			return rc;
		pos += consumed;
	}
	return 0;
}

int viommu_topology_parse_text(const char *text, size_t size,
			       struct viommu_topology **out)
{
	struct text_parser p = {0};
	int rc;

	if (!text || !out)
		return uvi_fail(-EINVAL, "topology file: NULL argument");
	rc = topo_builder_init(&p.b, VIOMMU_TOPOLOGY_TEXT);
	if (rc)
		return rc;
	p.b.topo->length = (uint32_t)(size > UINT32_MAX ? UINT32_MAX : size);
	rc = parse_all(&p, text, size);
	free(p.names);
	if (rc) {
		topo_builder_abort(&p.b);
		return rc;
	}
	if (p.b.topo->n_iommus == 0) {
		topo_builder_abort(&p.b);
		return uvi_fail(-EINVAL, "topology file: no 'iommu' statement");
	}
	return topo_builder_finish(&p.b, out);
}
