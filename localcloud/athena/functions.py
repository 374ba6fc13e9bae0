"""Which Trino functions the local engine answers, and the Trino name of a parsed call.

Athena (engine v3) is Trino, and the local engine is DuckDB behind a
translation. A function is *answered* only once a conformance case
(tests/localcloud/athena/conformance_cases.py: SQL, Trino's documented
answer, the page it comes from) proves the translation gives Trino's value,
type and NULL/edge behaviour; `ANSWERED` lists those, by area. Any other
function Trino documents is refused with NOT_SUPPORTED naming it; a name
Trino does not know is FUNCTION_NOT_FOUND, as on Athena.
"""

from __future__ import annotations

import re

from sqlglot import exp

# Function names of Trino's function list (https://trino.io/docs/current/functions/list.html),
# geospatial ST_* aside (recognised by their prefix).
TRINO_FUNCTIONS = frozenset("""
abs acos all_match any_match any_value approx_distinct approx_most_frequent approx_percentile approx_set
arbitrary array_agg array_distinct array_except array_first array_histogram array_intersect array_join
array_last array_max array_min array_position array_remove array_sort array_union arrays_overlap asin
at_timezone atan atan2 avg bar beta_cdf bing_tile bing_tile_at bing_tile_coordinates bing_tile_polygon
bing_tile_quadkey bing_tile_zoom_level bing_tiles_around bit_count bitwise_and bitwise_and_agg
bitwise_left_shift bitwise_not bitwise_or bitwise_or_agg bitwise_right_shift bitwise_right_shift_arithmetic
bitwise_xor bool_and bool_or cardinality cast cbrt ceil ceiling char2hexint checksum chr classify coalesce
codepoint collect color combinations concat concat_ws contains contains_sequence convex_hull_agg corr cos
cosh cosine_distance cosine_similarity count count_if covar_pop covar_samp crc32 cume_dist current_date
current_groups current_time current_timestamp current_timezone current_user date date_add date_diff
date_format date_parse date_trunc day day_of_month day_of_week day_of_year degrees dense_rank dow doy e
element element_at empty_approx_set ends_with every exclude_columns extract exp features filter
first_value flatten floor format format_datetime format_number from_base from_base32 from_base64
from_base64url from_big_endian_32 from_big_endian_64 from_encoded_polyline from_hex from_ieee754_32
from_ieee754_64 from_iso8601_date from_iso8601_timestamp from_iso8601_timestamp_nanos from_unixtime
from_unixtime_nanos from_utf8 fusion geometric_mean geometry_collect_agg geometry_from_hadoop_shape
geometry_invalid_reason geometry_nearest_points geometry_to_bing_tiles geometry_union geometry_union_agg
great_circle_distance greatest hamming_distance hash_counts histogram hmac_md5 hmac_sha1 hmac_sha256
hmac_sha512 hour human_readable_seconds if index infinity intersection intersection_cardinality
inverse_beta_cdf inverse_normal_cdf is_finite is_infinite is_json_scalar is_nan jaccard_index json
json_array json_array_contains json_array_get json_array_length json_exists json_extract
json_extract_scalar json_format json_object json_parse json_query json_scalar json_serialize json_size
json_value kurtosis lag last_day_of_month last_value lead learn_classifier learn_libsvm_classifier
learn_libsvm_regressor learn_regressor least length levenshtein_distance line_interpolate_point
line_interpolate_points line_locate_point listagg ln localtime localtimestamp log log10 log2 lower lpad
ltrim luhn_check make_set_digest map map_agg map_concat map_entries map_filter map_from_entries map_keys
map_union map_values map_zip_with max max_by md5 merge merge_set_digest millisecond min min_by minute mod
month multimap_agg multimap_from_entries murmur3 nan ngrams none_match normal_cdf normalize now nth_value
ntile nullif numeric_histogram objectid objectid_timestamp parse_datetime parse_duration parse_data_size
percent_rank pi position pow power qdigest_agg quarter radians rand random rank reduce reduce_agg
regexp_count regexp_extract regexp_extract_all regexp_like regexp_position regexp_replace regexp_split
regress regr_intercept regr_slope render repeat replace reverse rgb round row_number rpad rtrim second
sequence set sha1 sha256 sha512 shuffle sign simplify_geometry sin sinh skewness slice soundex
spatial_partitioning spatial_partitions split split_part split_to_map split_to_multimap spooky_hash_v2_32
spooky_hash_v2_64 sqrt starts_with stddev stddev_pop stddev_samp strpos substr substring sum tan tanh
tdigest_agg theta_sketch_cardinality theta_sketch_union timestamp_objectid timezone timezone_hour
timezone_minute title_case to_base to_base32 to_base64 to_base64url to_big_endian_32 to_big_endian_64
to_char to_date to_encoded_polyline to_geometry to_hex to_ieee754_32 to_ieee754_64 to_iso8601
to_milliseconds to_spherical_geography to_timestamp to_unixtime to_utf8 transform transform_keys
transform_values translate trim trim_array truncate try try_cast typeof upper url_decode url_encode
url_extract_fragment url_extract_host url_extract_parameter url_extract_path url_extract_protocol
url_extract_port url_extract_query uuid value_at_quantile values_at_quantiles var_pop var_samp variance
version week week_of_year width_bucket wilson_interval_lower wilson_interval_upper with_timezone word_stem
xxhash64 year year_of_week yow zip zip_with
""".split())

# Syntax rather than functions (constructors, predicates, special forms): always parsed and answered
# as Trino does, each still covered by conformance cases.
CONSTRUCTS = frozenset({"case", "cast", "try_cast", "array", "row", "unnest", "exists", "extract", "in",
                        "between", "current_date", "current_timestamp", "localtimestamp", "interval",
                        "any", "all", "some", "values"})

# Functions whose translation a conformance case verifies: name -> area. Names are the ones
# sqlglot prints back for Athena (aliases such as ceiling, pow, substring, dow, element_at and
# now arrive as ceil, power, substr, day_of_week, a subscript and current_timestamp).
ANSWERED: dict[str, str] = {
    # conditional
    "coalesce": "conditional", "if": "conditional", "nullif": "conditional", "try": "conditional",
    # GROUPING SETS' grouping(): a bit per argument, 1 where it is not grouped (SQL standard, both engines)
    "grouping": "aggregate",
    # conversion
    "typeof": "conversion",
    # JSON
    "json_extract_scalar": "json", "json_extract": "json", "json_parse": "json", "json_format": "json",
    "json_array_length": "json", "json_size": "json", "json_array_contains": "json",
    # string
    "concat": "string", "length": "string", "lower": "string", "upper": "string", "substr": "string",
    "strpos": "string", "replace": "string", "trim": "string",
    "ltrim": "string", "rtrim": "string", "lpad": "string", "rpad": "string", "split": "string",
    "split_part": "string", "reverse": "string", "starts_with": "string", "ends_with": "string",
    "concat_ws": "string", "chr": "string", "translate": "string",
    "levenshtein_distance": "string", "format": "string",
    "to_hex": "binary", "md5": "binary", "sha256": "binary", "to_base64": "binary", "from_base64": "binary",
    "from_hex": "binary", "codepoint": "string", "hamming_distance": "string", "to_utf8": "binary", "from_utf8": "binary",
    # regexp
    "regexp_like": "regexp", "regexp_extract": "regexp", "regexp_replace": "regexp",
    "regexp_extract_all": "regexp",
    # date/time
    "date_trunc": "datetime", "date_add": "datetime", "date_diff": "datetime", "date_format": "datetime",
    "date_parse": "datetime", "format_datetime": "datetime", "parse_datetime": "datetime",
    "from_iso8601_timestamp": "datetime", "from_iso8601_date": "datetime", "from_unixtime": "datetime",
    "to_unixtime": "datetime", "millisecond": "datetime", "year": "datetime", "month": "datetime", "day": "datetime",
    "hour": "datetime", "minute": "datetime", "second": "datetime", "day_of_week": "datetime",
    "day_of_year": "datetime", "quarter": "datetime",
    "week_of_year": "datetime", "date": "datetime", "last_day_of_month": "datetime",
    "day_of_month": "datetime",
    # array
    "cardinality": "array", "contains": "array", "array_join": "array",
    "array_distinct": "array", "array_max": "array", "array_min": "array",
    "array_sort": "array", "array_remove": "array", "array_intersect": "array",
    "array_except": "array", "flatten": "array", "sequence": "array", "any_match": "array", "all_match": "array",
    "none_match": "array", "slice": "array", "array_union": "array",
    "array_position": "array",
    "transform": "array", "filter": "array",
    # map
    "map": "map", "map_keys": "map", "map_values": "map", "map_from_entries": "map",
    # math
    "abs": "math", "ceil": "math", "floor": "math", "round": "math", "truncate": "math",
    "power": "math", "sqrt": "math", "exp": "math",
    "ln": "math", "pi": "math", "greatest": "math",
    "least": "math", "sign": "math", "nan": "math", "infinity": "math", "is_nan": "math",
    "is_finite": "math", "is_infinite": "math", "rand": "math",
   
    "degrees": "math", "radians": "math",
    # aggregate and window
    "count": "aggregate", "sum": "aggregate", "avg": "aggregate", "min": "aggregate", "max": "aggregate",
    "count_if": "aggregate", "approx_distinct": "aggregate", "approx_percentile": "aggregate",
    "arbitrary": "aggregate", "array_agg": "aggregate", "bool_and": "aggregate",
    "bool_or": "aggregate", "every": "aggregate", "max_by": "aggregate", "min_by": "aggregate",
    "stddev": "aggregate", "stddev_samp": "aggregate", "stddev_pop": "aggregate", "variance": "aggregate",
    "var_pop": "aggregate", "corr": "aggregate", "histogram": "aggregate",
    "row_number": "window", "rank": "window", "dense_rank": "window", "lag": "window", "lead": "window",
    "first_value": "window", "last_value": "window", "ntile": "window", "percent_rank": "window",
    "cume_dist": "window", "nth_value": "window",
}

_CALL = re.compile(r"\s*([A-Za-z_][\w]*)\s*\(")
_WORD = re.compile(r"\s*([A-Za-z_][\w]*)")


def trino_name(node: exp.Func) -> str | None:
    """The name a Trino user wrote for this call, or None for an operator (AND, =, …).

    sqlglot turns many Trino calls into canonical nodes; printing one back as
    Athena SQL gives the Trino spelling. Connectives and comparisons are Func
    nodes too, but print as `a AND b`: those are operators, not calls.
    """
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    try:
        text = node.sql(dialect="athena")
    except Exception:  # a node the Athena generator cannot print: fall back to sqlglot's name
        return node.sql_name().lower()
    m = _CALL.match(text)
    if m:
        return m.group(1).lower()
    m = _WORD.match(text)
    if m and m.group(1).lower() in CONSTRUCTS:
        return m.group(1).lower()
    return None


def is_trino_function(name: str) -> bool:
    return name in TRINO_FUNCTIONS or name.startswith("st_")
