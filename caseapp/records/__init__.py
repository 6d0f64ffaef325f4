"""Customer records: the systems that hold them (sources), normalized identifiers, the
demo customer systems; lookup and actions build on these."""
