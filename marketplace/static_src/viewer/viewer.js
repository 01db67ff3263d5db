// Interactive 3D view of a pattern's public preview mesh (a simplified binary STL; originals are never public).
// Built into marketplace/static/tessera/viewer.bundle.js by `make viewer-bundle` (see README.md here); the page
// loads only the small tessera/viewer-loader.js, which imports this bundle when the viewer scrolls into view or
// its "View in 3D" button is pressed, and calls mount().
//
// Renders on demand: a frame is drawn when the camera moves (pointer, keyboard, buttons), the size changes or
// the bed changes; nothing runs while the view is still.
import {
  Box3,
  BufferGeometry,
  Color,
  DirectionalLight,
  DoubleSide,
  Float32BufferAttribute,
  HemisphereLight,
  LineBasicMaterial,
  LineSegments,
  Mesh,
  MeshStandardMaterial,
  PerspectiveCamera,
  Scene,
  Vector3,
  WebGLRenderer,
} from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { STLLoader } from "three/examples/jsm/loaders/STLLoader.js";

const ROTATE_STEP = Math.PI / 12; // 15 degrees per arrow key press
const ZOOM_STEP = 0.85;
const START_AZIMUTH = -Math.PI / 2 - Math.PI / 5; // in front of the model (-y), a little to the right
const START_ELEVATION = Math.PI / 7;

const format = (value) => String(Math.round(value * 10) / 10);

function cssColor(element, name, fallback) {
  const value = getComputedStyle(element).getPropertyValue(name).trim();
  try {
    return new Color(value || fallback);
  } catch {
    return new Color(fallback);
  }
}

// Bed outline and a 10 mm grid on z = 0, centred under the model.
function bedLines(width, depth, lineColor, gridColor) {
  const outline = [];
  const grid = [];
  const x0 = -width / 2;
  const y0 = -depth / 2;
  outline.push(x0, y0, 0, -x0, y0, 0, -x0, y0, 0, -x0, -y0, 0, -x0, -y0, 0, x0, -y0, 0, x0, -y0, 0, x0, y0, 0);
  for (let x = Math.ceil(x0 / 10) * 10; x < -x0; x += 10) if (x > x0) grid.push(x, y0, 0, x, -y0, 0);
  for (let y = Math.ceil(y0 / 10) * 10; y < -y0; y += 10) if (y > y0) grid.push(x0, y, 0, -x0, y, 0);
  const make = (points, color, opacity) => {
    const geometry = new BufferGeometry();
    geometry.setAttribute("position", new Float32BufferAttribute(points, 3));
    const material = new LineBasicMaterial({ color, transparent: opacity < 1, opacity });
    return new LineSegments(geometry, material);
  };
  return [make(grid, gridColor, 0.45), make(outline, lineColor, 1)];
}

function fits(size, bed) {
  const a = [...size].sort((p, q) => p - q);
  const b = [...bed].sort((p, q) => p - q);
  return a.every((value, i) => value <= b[i] + 1e-6);
}

export function mount(figure) {
  const stage = figure.querySelector("[data-viewer-stage]");
  const status = figure.querySelector("[data-viewer-status]");
  const say = (text) => { if (status) status.textContent = text; };
  let renderer;
  try {
    renderer = new WebGLRenderer({ antialias: true, alpha: true });
  } catch {
    figure.dataset.viewerState = "failed";
    say("The 3D view needs WebGL, which this browser does not offer. The pictures show the model.");
    return null;
  }
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  const canvas = renderer.domElement;
  canvas.setAttribute("aria-hidden", "true");
  const scene = new Scene();
  const camera = new PerspectiveCamera(35, 4 / 3, 0.1, 100000);
  camera.up.set(0, 0, 1); // meshes are Z-up (as slicers and the validation report have them)
  const sky = new HemisphereLight(0xffffff, 0x556070, 2.4);
  sky.position.set(0, 0, 1);
  scene.add(sky);
  const sun = new DirectionalLight(0xffffff, 1.6);
  sun.position.set(1, -2, 3);
  scene.add(sun);
  const controls = new OrbitControls(camera, canvas);
  controls.enableDamping = false; // damping needs a frame loop; this view draws only on change
  controls.screenSpacePanning = true;

  let frameQueued = false;
  let renders = 0;
  const target = new Vector3();
  let radius = 1;
  let size = null; // [W, D, H] mm of the mesh
  let bedGroup = [];

  function render() {
    frameQueued = false;
    renderer.render(scene, camera);
    renders += 1;
    const offset = camera.position.clone().sub(controls.target);
    figure.dataset.viewerRenders = String(renders);
    figure.dataset.viewerAzimuth = String(Math.round((Math.atan2(offset.y, offset.x) * 180) / Math.PI));
    figure.dataset.viewerDistance = format(offset.length());
  }
  function requestRender() {
    if (!frameQueued) {
      frameQueued = true;
      requestAnimationFrame(render);
    }
  }
  controls.addEventListener("change", requestRender);

  function resize() {
    const width = stage.clientWidth || 600;
    const height = stage.clientHeight || Math.round(width * 0.75);
    renderer.setSize(width, height, false);
    camera.aspect = width / height;
    camera.updateProjectionMatrix();
    requestRender();
  }
  new ResizeObserver(resize).observe(stage);

  function placeCamera(azimuth, elevation, distance) {
    const offset = new Vector3(
      distance * Math.cos(elevation) * Math.cos(azimuth),
      distance * Math.cos(elevation) * Math.sin(azimuth),
      distance * Math.sin(elevation),
    );
    camera.position.copy(controls.target).add(offset);
    camera.lookAt(controls.target);
    controls.update();
    requestRender();
  }

  // Fit the model's bounding sphere in the narrower of the two fields of view.
  function reset() {
    controls.target.copy(target);
    const vertical = (camera.fov * Math.PI) / 180;
    const horizontal = 2 * Math.atan(Math.tan(vertical / 2) * Math.max(camera.aspect, 0.1));
    const distance = (radius / Math.sin(Math.min(vertical, horizontal) / 2)) * 1.08;
    controls.minDistance = radius * 0.6;
    controls.maxDistance = radius * 40;
    placeCamera(START_AZIMUTH, START_ELEVATION, distance);
  }

  function orbit(dAzimuth, dElevation, zoom = 1) {
    const offset = camera.position.clone().sub(controls.target);
    const distance = Math.min(Math.max(offset.length() * zoom, controls.minDistance), controls.maxDistance);
    const azimuth = Math.atan2(offset.y, offset.x) + dAzimuth;
    const elevation = Math.min(Math.max(Math.asin(offset.z / offset.length()) + dElevation, -1.5), 1.5);
    placeCamera(azimuth, elevation, distance);
  }

  const fullscreenButton = figure.querySelector("[data-viewer-fullscreen]");
  function toggleFullscreen() {
    if (document.fullscreenElement === figure) document.exitFullscreen();
    else if (figure.requestFullscreen) figure.requestFullscreen().catch(() => say("Full screen is not available here."));
  }
  document.addEventListener("fullscreenchange", () => {
    const on = document.fullscreenElement === figure;
    if (fullscreenButton) {
      fullscreenButton.setAttribute("aria-pressed", String(on));
      fullscreenButton.textContent = on ? "Exit full screen" : "Full screen";
    }
    resize();
  });
  if (fullscreenButton && !document.fullscreenEnabled) fullscreenButton.hidden = true;
  fullscreenButton?.addEventListener("click", toggleFullscreen);
  figure.querySelector("[data-viewer-reset]")?.addEventListener("click", reset);

  stage.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const actions = {
      ArrowLeft: () => orbit(-ROTATE_STEP, 0),
      ArrowRight: () => orbit(ROTATE_STEP, 0),
      ArrowUp: () => orbit(0, ROTATE_STEP),
      ArrowDown: () => orbit(0, -ROTATE_STEP),
      "+": () => orbit(0, 0, ZOOM_STEP),
      "=": () => orbit(0, 0, ZOOM_STEP),
      "-": () => orbit(0, 0, 1 / ZOOM_STEP),
      _: () => orbit(0, 0, 1 / ZOOM_STEP),
      r: reset,
      R: reset,
      f: toggleFullscreen,
      F: toggleFullscreen,
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  const bedSelect = figure.querySelector("[data-viewer-bed]");
  const fitText = figure.querySelector("[data-viewer-fit]");
  function showBed() {
    for (const line of bedGroup) {
      scene.remove(line);
      line.geometry.dispose();
      line.material.dispose();
    }
    bedGroup = [];
    const value = bedSelect ? bedSelect.value : "";
    if (value) {
      const bed = value.split(",").map(Number);
      bedGroup = bedLines(bed[0], bed[1], cssColor(figure, "--c-brand", "#0b6e70"), cssColor(figure, "--c-line-strong", "#8a94a3"));
      for (const line of bedGroup) scene.add(line);
      if (size && fitText) {
        const name = bedSelect.selectedOptions[0].textContent.split(" (")[0];
        fitText.textContent = fits(size, bed) ? `Fits the ${name} bed.` : `Larger than the ${name} bed.`;
      }
    } else if (fitText) {
      fitText.textContent = "";
    }
    requestRender();
  }
  bedSelect?.addEventListener("change", showBed);

  figure.dataset.viewerState = "loading";
  say("Loading the 3D model…");
  new STLLoader().load(
    figure.dataset.viewerSrc,
    (geometry) => {
      geometry.computeBoundingBox();
      const box = geometry.boundingBox;
      const extent = box.getSize(new Vector3());
      // Stand the model on the bed (z = 0), centred over it.
      geometry.translate(-(box.min.x + box.max.x) / 2, -(box.min.y + box.max.y) / 2, -box.min.z);
      geometry.computeVertexNormals();
      const placed = new Box3().setFromBufferAttribute(geometry.getAttribute("position"));
      placed.getCenter(target);
      radius = Math.max(placed.getSize(new Vector3()).length() / 2, 1e-3);
      camera.near = radius / 100;
      camera.far = radius * 200 + 1000;
      size = [extent.x, extent.y, extent.z];
      const measured = size.map(format).join(" × ");
      figure.dataset.viewerMeasured = measured;
      const dimensions = figure.querySelector("[data-viewer-dimensions]");
      if (dimensions && !dimensions.textContent.trim()) dimensions.textContent = `${measured} mm`;
      const material = new MeshStandardMaterial({
        color: cssColor(figure, "--viewer-model", "#4682c8"),
        roughness: 0.55,
        metalness: 0.05,
        side: DoubleSide,
      });
      scene.add(new Mesh(geometry, material));
      figure.classList.add("is-live");
      stage.prepend(canvas);
      stage.tabIndex = 0;
      for (const hidden of figure.querySelectorAll("[data-viewer-live]")) hidden.hidden = false;
      resize();
      reset();
      showBed();
      figure.dataset.viewerState = "ready";
      figure.dataset.viewerReady = "true";
      say("");
    },
    undefined,
    () => {
      figure.dataset.viewerState = "failed";
      say("The 3D view could not be loaded; the pictures show the model.");
    },
  );
  return { reset, orbit, render: requestRender };
}
