#!/usr/bin/env python3
"""Parses a Prometheus text exposition (a file, or - for stdin) with the official Python client's parser
(prometheus_client.parser.text_string_to_metric_families) and prints what it found as JSON, for
Tests/SmrtDashboardTests/MetricsParserTests.swift to check:

    [{"name": …, "type": …, "documentation": …, "samples": [{"name": …, "labels": {…}, "value": …}, …]}, …]

in the order the parser yields the families (one per family block of the text). Values that JSON cannot hold
(+Inf, NaN) are given as strings. Exit 1 with the parser's message when it rejects the text.
"""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def number(value):
    return value if math.isfinite(value) else str(value)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "-"
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    try:
        families = [
            {
                "name": family.name,
                "type": family.type,
                "documentation": family.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": number(s.value)} for s in family.samples],
            }
            for family in text_string_to_metric_families(text)
        ]
    except Exception as error:  # the parser raises ValueError and others on malformed text
        print(f"parse_metrics: the Prometheus parser rejected the text: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    json.dump(families, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
