"""The data-scheduling strategies, one module each; the module name is the strategy's name.

Every module here is imported by `aramega_ssum.scheduling.registry` on the first lookup and
registers its builder with `@register("<name>", <Config dataclass>)`. Helpers shared by strategies
live one level up (`sampler`, `kmeans`, `base`), never here.
"""
