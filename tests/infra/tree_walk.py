"""Small readers for pycep's JSON trees."""


def walk(node):
    """Every dict and list inside `node`, depth first (including `node`)."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def keys(node):
    """Every mapping key anywhere inside `node`."""
    return {key for item in walk(node) if isinstance(item, dict) for key in item}


def resources_of_type(tree, resource_type):
    return {name: r for name, r in tree["resources"].items() if r["type"] == resource_type}


def body(resource):
    """A resource's or module's own properties, unwrapped from `for` loops and `if` conditions."""
    config = resource["config"]
    while isinstance(config, dict) and ("loop_type" in config or "condition" in config) and "config" in config:
        config = config["config"]
    return config
