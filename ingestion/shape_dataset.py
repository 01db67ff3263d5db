"""Generated meshes for measuring copy detection: distinct models and transformed copies of them."""

from __future__ import annotations

import io

import numpy as np
import trimesh


def distinct_models(count: int, seed: int = 7, min_separation: float = 0.25) -> list[trimesh.Trimesh]:
    """``count`` different objects from ten families.

    Two models of one family count as different only if their scale-free proportions differ by at least
    ``min_separation`` (relative, in some parameter): a 10×20×30 box and a 20×40×60 box are the same object
    scaled, i.e. a copy, and must not be in a set of distinct models.
    """
    rng = np.random.default_rng(seed)

    def proportions(*values: float) -> np.ndarray:
        array = np.asarray(values, dtype=float)
        return array / array.max()

    def box() -> tuple[trimesh.Trimesh, np.ndarray]:
        extents = rng.uniform(5, 100, 3)
        return trimesh.creation.box(extents=extents), proportions(*np.sort(extents))

    def cylinder() -> tuple[trimesh.Trimesh, np.ndarray]:
        radius, height = rng.uniform(5, 40), rng.uniform(5, 150)
        return trimesh.creation.cylinder(radius=radius, height=height, sections=48), proportions(radius, height)

    def cone() -> tuple[trimesh.Trimesh, np.ndarray]:
        radius, height = rng.uniform(5, 40), rng.uniform(5, 120)
        return trimesh.creation.cone(radius=radius, height=height, sections=48), proportions(radius, height)

    def torus() -> tuple[trimesh.Trimesh, np.ndarray]:
        major = rng.uniform(20, 50)
        minor = rng.uniform(2, major * 0.8)
        mesh = trimesh.creation.torus(major_radius=major, minor_radius=minor, major_sections=48, minor_sections=24)
        return mesh, proportions(major, minor)

    def capsule() -> tuple[trimesh.Trimesh, np.ndarray]:
        height, radius = rng.uniform(5, 120), rng.uniform(5, 30)
        return trimesh.creation.capsule(height=height, radius=radius, count=[24, 24]), proportions(height, radius)

    def annulus() -> tuple[trimesh.Trimesh, np.ndarray]:
        inner = rng.uniform(5, 30)
        outer, height = inner + rng.uniform(2, 30), rng.uniform(2, 80)
        mesh = trimesh.creation.annulus(r_min=inner, r_max=outer, height=height, sections=48)
        return mesh, proportions(inner, outer, height)

    def vase() -> tuple[trimesh.Trimesh, np.ndarray]:
        height, waves, radius, amplitude = (
            rng.uniform(40, 160),
            rng.uniform(0.5, 3.0),
            rng.uniform(15, 40),
            rng.uniform(3, 15),
        )
        heights = np.linspace(0, height, 32)
        radii = radius + amplitude * np.sin(heights / height * np.pi * waves)
        profile = np.vstack([[0, 0], np.column_stack([radii, heights]), [0, height]])
        return trimesh.creation.revolve(profile, sections=48), np.array(
            [*proportions(height, radius, amplitude), waves / 3]
        )

    def ellipsoid() -> tuple[trimesh.Trimesh, np.ndarray]:
        axes = np.array([1.0, rng.uniform(0.3, 1.0), rng.uniform(0.3, 1.0)])
        mesh = trimesh.creation.icosphere(subdivisions=3, radius=20)
        mesh.apply_scale(axes)
        return mesh, np.sort(axes)

    def post_on_block() -> tuple[trimesh.Trimesh, np.ndarray]:
        extents, radius, height = rng.uniform(10, 80, 3), rng.uniform(3, 20), rng.uniform(10, 80)
        offset = np.array([rng.uniform(-10, 10), rng.uniform(-10, 10), rng.uniform(20, 60)])
        top = trimesh.creation.cylinder(radius=radius, height=height, sections=32)
        top.apply_translation(offset)
        mesh = trimesh.util.concatenate([trimesh.creation.box(extents=extents), top])
        assert isinstance(mesh, trimesh.Trimesh)  # noqa: S101 - concatenating two meshes gives one mesh
        return mesh, proportions(*extents, radius, height, *np.abs(offset))

    def sheared_box() -> tuple[trimesh.Trimesh, np.ndarray]:
        extents, shear = rng.uniform(5, 100, 3), rng.uniform(0.2, 1.0)
        mesh = trimesh.creation.box(extents=extents)
        mesh.apply_transform(trimesh.transformations.shear_matrix(shear, [1, 0, 0], [0, 0, 0], [0, 0, 1]))
        return mesh, np.array([*proportions(*extents), shear])

    makers = [box, cylinder, cone, torus, capsule, annulus, vase, ellipsoid, post_on_block, sheared_box]
    accepted: dict[int, list[np.ndarray]] = {index: [] for index in range(len(makers))}
    models: list[trimesh.Trimesh] = []
    attempts = 0
    while len(models) < count and attempts < count * 200:
        attempts += 1
        family = attempts % len(makers)
        mesh, params = makers[family]()
        relative = [np.max(np.abs(params - other) / np.maximum(np.abs(other), 1e-9)) for other in accepted[family]]
        if all(difference >= min_separation for difference in relative):
            accepted[family].append(params)
            models.append(mesh)
    return models


def transformed_copy(mesh: trimesh.Trimesh, rng: np.random.Generator) -> tuple[trimesh.Trimesh, str]:
    """Rotate, rescale, translate, sometimes re-mesh, then re-export to another format and read it back."""
    copy = mesh.copy()
    copy.apply_transform(trimesh.transformations.random_rotation_matrix(rng.random(3)))
    copy.apply_scale(float(np.exp(rng.uniform(np.log(0.1), np.log(10)))))
    copy.apply_translation(rng.uniform(-500, 500, 3))
    steps = []
    if rng.random() < 0.5:
        vertices, faces = trimesh.remesh.subdivide(copy.vertices, copy.faces)
        copy = trimesh.Trimesh(vertices, faces, process=False)
        steps.append("re-meshed")
    file_type = str(rng.choice(["stl", "obj", "ply"]))
    exported = copy.export(file_type=file_type)
    data = exported.encode() if isinstance(exported, str) else bytes(exported)
    reloaded = trimesh.load(io.BytesIO(data), file_type=file_type, force="mesh")
    if not isinstance(reloaded, trimesh.Trimesh):
        raise TypeError(f"re-reading the {file_type} copy gave {type(reloaded).__name__}")
    steps.append(f"re-exported as {file_type}")
    return reloaded, ", ".join(["rotated, scaled, moved", *steps])
