import { startServer, launchBrowser, openApp } from './harness.js';
const server = await startServer();
const browser = await launchBrowser();
const { page, problems } = await openApp(browser.context, server.url);
const frames = (n=2) => page.evaluate((n) => new Promise((r) => { const f = (k) => k ? requestAnimationFrame(() => f(k-1)) : r(); f(n); }), n);
async function stroke(points) {
  const box = await page.locator('[data-testid=draw-canvas]').boundingBox();
  const at = ([x, y]) => [box.x + x * box.width / 280, box.y + y * box.height / 280];
  await page.mouse.move(...at(points[0])); await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p));
  await page.mouse.up();
  await frames(2);
}
const grey = (tid) => page.evaluate((tid) => { const c = document.querySelector(`[data-testid=${tid}]`); const d = c.getContext('2d').getImageData(0,0,c.width,c.height).data; const o=[]; for (let i=0;i<d.length;i+=4) o.push(d[i]); return o; }, tid);
function pearson(a,b){const n=a.length;let ma=0,mb=0;for(let i=0;i<n;i++){ma+=a[i];mb+=b[i];}ma/=n;mb/=n;let sab=0,saa=0,sbb=0;for(let i=0;i<n;i++){const x=a[i]-ma,y=b[i]-mb;sab+=x*y;saa+=x*x;sbb+=y*y;}return sab/Math.sqrt(saa*sbb);}
const line = (a,b,n) => Array.from({length:n+1},(_,i)=>[a[0]+(b[0]-a[0])*i/n, a[1]+(b[1]-a[1])*i/n]);
const ellipse = (cx,cy,rx,ry,n) => Array.from({length:n+1},(_,i)=>[cx+rx*Math.sin(2*Math.PI*i/n), cy-ry*Math.cos(2*Math.PI*i/n)]);
const shapes = { one: [line([140,40],[140,240],20)], zero: [ellipse(140,140,60,95,48)], one_slant:[line([155,40],[125,240],20)], seven:[line([70,50],[210,50],12), line([210,50],[120,240],16)] };
for (const model of ['mnist-2d.safetensors','mnist-16d.safetensors']) {
  if (model !== 'mnist-2d.safetensors') { await page.selectOption('[data-testid=model-select]', model); await page.waitForFunction(() => document.querySelectorAll('#sliders input').length === 16); await frames(3); }
  for (const [name, strokes] of Object.entries(shapes)) {
    await page.click('[data-testid=clear-button]'); await frames(2);
    for (const s of strokes) await stroke(s);
    const a = await grey('input-preview'), b = await grey('recon-canvas');
    // chance: correlate with shifted/other
    console.log(model, name, pearson(a,b).toFixed(3), 'ink', a.filter(v=>v>0).length);
  }
}
// chance level: correlation between recon of 0 and input of 1
console.log(problems);
await browser.close(); server.close();
