import { startServer, launchBrowser, openApp } from './harness.js';
const server = await startServer();
const browser = await launchBrowser();
const { page, problems } = await openApp(browser.context, server.url);
const frames = (n=2) => page.evaluate((n) => new Promise((r) => { const f = (k) => k ? requestAnimationFrame(() => f(k-1)) : r(); f(n); }), n);
async function stroke(points, keepDown) {
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
await stroke(line([140,40],[140,240],20));
const in1 = await grey('input-preview'), rec1 = await grey('recon-canvas');
await page.click('[data-testid=clear-button]'); await frames(2);
console.log('after clear', Math.max(...await grey('input-preview')), Math.max(...await grey('recon-canvas')), await page.textContent('#status'));
await stroke(ellipse(140,140,60,95,48));
const in0 = await grey('input-preview'), rec0 = await grey('recon-canvas');
console.log('cross', pearson(in1, rec0).toFixed(3), pearson(in0, rec1).toFixed(3), 'self', pearson(in1,rec1).toFixed(3), pearson(in0,rec0).toFixed(3));
// undo
await page.click('[data-testid=clear-button]'); await frames(2);
await stroke(line([140,40],[140,240],20));
const a1 = await grey('input-preview');
await stroke(line([90,240],[190,240],10));
const a2 = await grey('input-preview');
await page.click('[data-testid=undo-button]'); await frames(2);
const a3 = await grey('input-preview');
console.log('undo: a1 vs a3 equal', a1.every((v,i)=>v===a3[i]), 'maxdiff', Math.max(...a1.map((v,i)=>Math.abs(v-a3[i]))), 'a2 vs a3 corr', pearson(a2,a3).toFixed(3));
// during stroke
await page.click('[data-testid=clear-button]'); await frames(2);
{
  const box = await page.locator('[data-testid=draw-canvas]').boundingBox();
  const pts = line([140,40],[140,240],10);
  const at = ([x, y]) => [box.x + x * box.width / 280, box.y + y * box.height / 280];
  const r0 = await page.evaluate(() => window.vaeMetrics.reconUpdates);
  await page.mouse.move(...at(pts[0])); await page.mouse.down();
  const seq=[];
  for (const p of pts.slice(1)) { await page.mouse.move(...at(p)); seq.push(await page.evaluate(() => window.vaeMetrics.reconUpdates)); }
  await page.mouse.up();
  console.log('during', r0, seq);
}
// grid
const g = await page.evaluate(() => { const c = document.querySelector('[data-testid=latent-grid]'); const d = c.getContext('2d').getImageData(0,0,c.width,c.height).data; const n=c.width/28; const tiles=[]; for(let ty=0;ty<n;ty++) for(let tx=0;tx<n;tx++){const t=[];for(let y=0;y<28;y++)for(let x=0;x<28;x++)t.push(d[4*((ty*28+y)*c.width+tx*28+x)]);tiles.push(t);} return {w:c.width,h:c.height,n,tiles}; });
let diff=0, nonblank=0, maxes=[];
for (let ty=0;ty<g.n;ty++) for (let tx=0;tx<g.n;tx++){ const t=g.tiles[ty*g.n+tx]; const m=Math.max(...t); maxes.push(m); if(m>0) nonblank++; if (tx<g.n-1){const r=g.tiles[ty*g.n+tx+1]; if(t.some((v,i)=>v!==r[i])) diff++;}}
console.log('grid', g.w, g.h, 'diff', diff, 'nonblank', nonblank, 'min max', Math.min(...maxes));
console.log(problems);
await browser.close(); server.close();
