extension Statistics {
    /// The memory map of `svg()` as one self-contained HTML page: the picture inline, and
    /// a panel that tells the name, size, offset, type and call site of the range the
    /// pointer (or keyboard focus) is on, filled by a small inline script from the
    /// ranges' data attributes. No file, font or network beyond the page.
    ///
    /// The script holds no data of the statistics: names reach the page only as escaped
    /// attribute values and text, and the script reads them back as text
    /// (`textContent`), so a name such as `<script>…</script>` shows and never runs.
    /// Once it has wired every range, the script sets the document's title to
    /// `Memory map ready: N ranges`, which tells a headless browser that it ran.
    /// - Complexity: O(allocations + pages).
    public func html() -> String {
        let layout = MemoryMapLayout(self)
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width">
            <title>Memory map: \(device.escapingMarkup)</title>
            <style>
            body { margin: 0; background: #ffffff; color: #222222; font-family: sans-serif; }
            svg { display: block; }
            .range:hover, .range:focus, .alias:hover, .alias:focus, .slice:hover, .slice:focus { stroke: #000000; stroke-width: 2; outline: none; }
            #detail { margin: 0 16px 16px; padding: 8px 12px; border: 1px solid #c8c8c8; background: #f7f7f7;
                      font-size: 13px; white-space: pre-line; min-height: 3.6em; width: 900px; }
            </style>
            </head>
            <body>
            \(layout.svg(device: device, standalone: false))<div id="detail" role="status" aria-live="polite">Point at a range to see its name, size, offset, type and call site.</div>
            <script>
            "use strict";
            (function () {
              var detail = document.getElementById("detail");
              var ranges = document.querySelectorAll("#memory-map .range");
              var aliases = document.querySelectorAll("#memory-map .alias");
              var slices = document.querySelectorAll("#memory-map .slice");
              function show(range) {
                var d = range.dataset;
                var lines = [
                  (d.name ? "Name: " + d.name : (d.type === "free" ? "Free range" : "Unnamed allocation")),
                  "Size: " + d.size + " bytes, at offset " + d.offset,
                  "Type: " + d.type
                ];
                if (d.site) { lines.push("Allocated at " + d.site); }
                detail.textContent = lines.join("\\n");
              }
              function wire(list) {
                for (var i = 0; i < list.length; i++) {
                  list[i].setAttribute("tabindex", "0");
                  list[i].addEventListener("mouseenter", function (event) { show(event.currentTarget); });
                  list[i].addEventListener("focus", function (event) { show(event.currentTarget); });
                }
              }
              wire(ranges);
              wire(aliases);
              wire(slices);
              document.title = "Memory map ready: " + ranges.length + " ranges";
            })();
            </script>
            </body>
            </html>

            """
    }
}
