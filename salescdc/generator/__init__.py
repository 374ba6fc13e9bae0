"""The order generator: the tutorial's MockDataGenerator made real.

Orders like the tutorial's (orderid "1".."10000", product, quantity 1-5, price
10.00-500.00 as Decimal) plus `updated_at`, written at a paced rate with batch
writes, with a share of updates and deletes of orders the run wrote, bounded by
count or duration, reproducible by seed. Runs in-process (`OrderGenerator`), as a
CLI (`python -m salescdc.generator`) or as a managed background process
(`GeneratorProcess`) that the dashboard starts, queries and stops.
"""

from salescdc.generator.generator import OrderGenerator
from salescdc.generator.options import GeneratorOptions
from salescdc.generator.orders import PRODUCTS, Operation, OrderPlanner
from salescdc.generator.process import GeneratorAlreadyRunning, GeneratorProcess, GeneratorStatus
from salescdc.generator.stats import GeneratorStats
from salescdc.generator.writer import TableMissingError

__all__ = [
    "PRODUCTS",
    "GeneratorAlreadyRunning",
    "GeneratorOptions",
    "GeneratorProcess",
    "GeneratorStats",
    "GeneratorStatus",
    "Operation",
    "OrderGenerator",
    "OrderPlanner",
    "TableMissingError",
]
