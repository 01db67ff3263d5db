// Interactive viewer for a pattern's public preview mesh (a simplified copy; originals are never public).
import * as THREE from "three";
import { OrbitControls } from "three/addons/OrbitControls.js";
import { STLLoader } from "three/addons/STLLoader.js";

for (const container of document.querySelectorAll("[data-viewer-src]")) {
  const width = container.clientWidth || 600;
  const height = Math.round(width * 0.75);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0xf5f6f8);
  const camera = new THREE.PerspectiveCamera(35, width / height, 0.1, 100000);
  let renderer;
  try {
    renderer = new THREE.WebGLRenderer({ antialias: true });
  } catch (error) {
    container.textContent = "3D view needs WebGL, which this browser does not offer. The pictures show the model.";
    continue;
  }
  renderer.setSize(width, height);
  container.appendChild(renderer.domElement);
  scene.add(new THREE.HemisphereLight(0xffffff, 0x555566, 2.2));
  const light = new THREE.DirectionalLight(0xffffff, 1.6);
  light.position.set(1, -1, 2);
  scene.add(light);
  const controls = new OrbitControls(camera, renderer.domElement);
  new STLLoader().load(
    container.dataset.viewerSrc,
    (geometry) => {
      geometry.computeVertexNormals();
      geometry.computeBoundingSphere();
      const { center, radius } = geometry.boundingSphere;
      geometry.translate(-center.x, -center.y, -center.z);
      const material = new THREE.MeshStandardMaterial({ color: 0x4682c8, roughness: 0.6, side: THREE.DoubleSide });
      const mesh = new THREE.Mesh(geometry, material);
      mesh.rotation.x = -Math.PI / 2; // models are Z-up, the viewer is Y-up
      scene.add(mesh);
      camera.position.set(radius * 1.6, radius * 1.2, radius * 2.4);
      camera.near = radius / 100;
      camera.far = radius * 100;
      camera.updateProjectionMatrix();
      controls.update();
      container.dataset.viewerReady = "true";
    },
    undefined,
    () => { container.textContent = "The 3D view could not be loaded; the pictures show the model."; },
  );
  renderer.setAnimationLoop(() => { controls.update(); renderer.render(scene, camera); });
}
