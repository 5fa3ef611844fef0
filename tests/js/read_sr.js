// Reads a TID 1500 SR with dcmjs the way OHIF / Cornerstone do and prints what the adapters hydrate, as JSON:
// {"cornerstone": [{tool, points, sop}], "cornerstone3d": [{tool, points, sop}]}. Tools are chosen by geometry
// (a closed POLYLINE is a freehand ROI), as interop.md says a caller may do. Usage: node read_sr.js FILE.dcm
"use strict";
const fs = require("fs");
const dcmjs = require("dcmjs");

const buffer = fs.readFileSync(process.argv[2]);
const dicomData = dcmjs.data.DicomMessage.readFile(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length));
const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dicomData.dict);
dataset._meta = dcmjs.data.DicomMetaDictionary.namifyDataset(dicomData.meta);

const toArray = (x) => (Array.isArray(x) ? x : x === undefined ? [] : [x]);
function scoordUnderNum(group) {
  const num = toArray(group.ContentSequence).find((item) => item.ValueType === "NUM");
  if (!num) return undefined;
  return toArray(num.ContentSequence).find((item) => item.ValueType === "SCOORD");
}
function byGeometry(freehandType) {
  return (group, _dataset, classes) => {
    const scoord = scoordUnderNum(group);
    if (!scoord) return undefined;
    if (scoord.GraphicType === "POLYLINE" || scoord.GraphicType === "POLYGON") {
      return classes.find((tc) => tc.toolType === freehandType);
    }
    return undefined;
  };
}
const quiet = console.log;
console.log = () => {};
const legacy = dcmjs.adapters.Cornerstone.MeasurementReport.generateToolState(dataset, {
  getToolClass: byGeometry("FreehandRoi"),
});
const imageIds = {};
for (const group of toArray(toArray(dataset.ContentSequence).find((i) => i.ConceptNameCodeSequence && toArray(i.ConceptNameCodeSequence)[0].CodeMeaning === "Imaging Measurements").ContentSequence)) {
  const scoord = scoordUnderNum(group);
  if (scoord) {
    const sop = toArray(toArray(scoord.ContentSequence)[0].ReferencedSOPSequence)[0].ReferencedSOPInstanceUID;
    imageIds[sop] = `wadouri:${sop}`;
  }
}
// A viewer answers from the loaded images; no image is loaded here, so the plane module is a stand-in.
const metadata = { get: (type) => (type === "imagePlaneModule" ? { frameOfReferenceUID: "1.2.3" } : undefined) };
const toWorld = (_imageId, point) => [point[0], point[1], 0];
const modern = dcmjs.adapters.Cornerstone3D.MeasurementReport.generateToolState(
  dataset, imageIds, toWorld, metadata, { getToolClass: byGeometry("PlanarFreehandROI") },
);
console.log = quiet;
const out = { cornerstone: [], cornerstone3d: [] };
for (const [tool, items] of Object.entries(legacy)) {
  for (const m of items) out.cornerstone.push({ tool, points: m.handles.points.length, sop: m.sopInstanceUid, area: m.cachedStats && m.cachedStats.area });
}
for (const [tool, items] of Object.entries(modern)) {
  for (const m of items) {
    const a = m.annotation;
    out.cornerstone3d.push({ tool, points: (a.data.polyline || (a.data.contour && a.data.contour.polyline) || []).length, sop: a.metadata.referencedImageId });
  }
}
process.stdout.write(JSON.stringify(out));
