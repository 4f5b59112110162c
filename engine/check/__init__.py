"""Names and types: the checker (:mod:`engine.check.stages`) and the checked policy it produces
(:mod:`engine.check.checked`)."""
