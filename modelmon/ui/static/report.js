/* The offline report: the endpoint page drawn from the data embedded in the file (gzip, then base64, in
   #mm-data) instead of the API; nothing is fetched. Histograms exist for the windows and features the
   report embedded (the latest window's most drifted features). */
(function () {
  "use strict";
  const MM = window.MM;
  MM.REPORT = true;

  /** The embedded JSON: base64 → gzip bytes → text, with the browser's own DecompressionStream. */
  async function embedded() {
    const el = document.getElementById("mm-data");
    if (typeof DecompressionStream === "undefined") {
      throw new Error("this browser cannot open the report (it lacks DecompressionStream); use a current " +
        "Chrome, Edge, Firefox or Safari");
    }
    const binary = atob(el.textContent.trim());
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }

  MM.start(async (root) => {
    const data = await embedded();
    const source = {
      live: false,
      note: `Report generated ${MM.fmtTime(data.generated_ms)} UTC by modelmon ${data.version}` +
        (data.range ? ` — ${data.range}` : ""),
      endpoint: async () => data.endpoint,
      histogram: async (startMs, feature) => (data.histograms || {})[`${startMs}|${feature}`] || null,
    };
    await MM.renderEndpoint(root, source);
  });
})();
