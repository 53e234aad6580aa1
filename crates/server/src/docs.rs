//! Human pages: a small home page and the API reference, rendered in the browser from `/api/v1/openapi.json`
//! with a few lines of inline script — no CDN, so it works on government intranets without Internet access.

use axum::response::Html;

pub async fn api_reference() -> Html<&'static str> {
    Html(API_REFERENCE)
}

pub async fn home() -> Html<&'static str> {
    Html(HOME)
}

const API_REFERENCE: &str = r##"<!doctype html>
<html lang="zh-Hant-TW"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>tapwater API 參考文件 / API reference</title>
<style>
body{font-family:system-ui,"Noto Sans TC","PingFang TC","Microsoft JhengHei",sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1b1f23;line-height:1.5}
h1{font-size:1.6rem} h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
.op{border:1px solid #d0d7de;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;font-family:monospace}
.get{color:#0969da}.post{color:#1a7f37}.patch{color:#9a6700}.delete{color:#cf222e}
code,pre{background:#f6f8fa;border-radius:4px;padding:.1rem .3rem;font-size:.9em}
pre{padding:.6rem;overflow:auto;white-space:pre-wrap} table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #eee;text-align:left;padding:.25rem .4rem;vertical-align:top;font-size:.92em}
</style></head><body>
<h1>tapwater API 參考文件 / API reference</h1>
<p>機器可讀的 OpenAPI 3.1 文件 / machine-readable document: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a></p>
<div id="doc">載入中… / Loading…</div>
<h2 id="errors">錯誤碼 / Error codes</h2>
<p>每個錯誤回應 / every error response: <code>{"error":{"code":"…","message":"…","param":"…","docs":"…"}}</code>.
訊息語言依 <code>Accept-Language</code>（zh-TW 或 English）。</p>
<table id="codes"><tr><th>code</th><th>HTTP</th><th>meaning</th></tr>
<tr id="error-dataset_not_found"><td>dataset_not_found</td><td>404</td><td>No dataset with that slug / 找不到資料集</td></tr>
<tr id="error-version_not_found"><td>version_not_found</td><td>404</td><td>The dataset has no such version / 沒有該版本</td></tr>
<tr id="error-no_version"><td>no_version</td><td>404</td><td>Nothing published yet / 尚未發布任何版本</td></tr>
<tr id="error-job_not_found"><td>job_not_found</td><td>404</td><td>No job with that id / 找不到工作</td></tr>
<tr id="error-source_not_found"><td>source_not_found</td><td>404</td><td>The dataset has no source / 資料集尚未設定來源</td></tr>
<tr id="error-not_found"><td>not_found</td><td>404</td><td>No such endpoint / 沒有這個端點</td></tr>
<tr id="error-method_not_allowed"><td>method_not_allowed</td><td>405</td><td>Wrong HTTP method / 不接受此 HTTP 方法</td></tr>
<tr id="error-dataset_exists"><td>dataset_exists</td><td>409</td><td>Slug already taken / 代稱已被使用</td></tr>
<tr id="error-unauthorized"><td>unauthorized</td><td>401</td><td>Sign in or send a key / 需要登入或金鑰</td></tr>
<tr id="error-forbidden"><td>forbidden</td><td>403</td><td>Not allowed / 沒有權限</td></tr>
<tr id="error-key_required"><td>key_required</td><td>401</td><td>Sign in or send an API key / 需登入或 API 金鑰</td></tr>
<tr id="error-application_required"><td>application_required</td><td>403</td><td>Approved application needed / 需申請核准</td></tr>
<tr id="error-restricted_dataset"><td>restricted_dataset</td><td>403</td><td>Restricted: no row reads / 限制級資料集</td></tr>
<tr id="error-insufficient_scope"><td>insufficient_scope</td><td>403</td><td>Key scope is read / 金鑰權限不足</td></tr>
<tr id="error-invalid_credentials"><td>invalid_credentials</td><td>401</td><td>Wrong email or password / 帳號或密碼錯誤</td></tr>
<tr id="error-invalid_api_key"><td>invalid_api_key</td><td>401</td><td>Unknown or revoked key / 金鑰無效</td></tr>
<tr id="error-invalid_session"><td>invalid_session</td><td>401</td><td>Session expired / 登入已逾期</td></tr>
<tr id="error-csrf_failed"><td>csrf_failed</td><td>403</td><td>CSRF token missing / CSRF 權杖錯誤</td></tr>
<tr id="error-account_locked"><td>account_locked</td><td>429</td><td>Too many failed sign-ins / 帳號暫時鎖定</td></tr>
<tr id="error-rate_limited"><td>rate_limited</td><td>429</td><td>Rate limit reached / 超過請求上限</td></tr>
<tr id="error-user_not_found"><td>user_not_found</td><td>404</td><td>No such user / 找不到使用者</td></tr>
<tr id="error-user_exists"><td>user_exists</td><td>409</td><td>Email taken / 帳號已存在</td></tr>
<tr id="error-organisation_not_found"><td>organisation_not_found</td><td>404</td><td>No such organisation / 找不到機關</td></tr>
<tr id="error-organisation_exists"><td>organisation_exists</td><td>409</td><td>Organisation exists / 機關已存在</td></tr>
<tr id="error-key_not_found"><td>key_not_found</td><td>404</td><td>No such key / 找不到金鑰</td></tr>
<tr id="error-application_not_found"><td>application_not_found</td><td>404</td><td>No such application / 找不到申請</td></tr>
<tr id="error-application_decided"><td>application_decided</td><td>409</td><td>Already decided / 申請已處理</td></tr>
<tr id="error-invalid_password"><td>invalid_password</td><td>400</td><td>Password rules / 密碼不符規定</td></tr>
<tr id="error-invalid_email"><td>invalid_email</td><td>400</td><td>Not an email / 電子郵件格式錯誤</td></tr>
<tr id="error-invalid_token"><td>invalid_token</td><td>400</td><td>Reset token invalid / 重設連結無效</td></tr>
<tr id="error-signup_closed"><td>signup_closed</td><td>403</td><td>Sign-up closed / 未開放註冊</td></tr>
<tr id="error-audit_chain_broken"><td>audit_chain_broken</td><td>400</td><td>Audit chain broken / 稽核紀錄遭竄改</td></tr>
<tr id="error-invalid_slug"><td>invalid_slug</td><td>400</td><td>Slug is not 2–64 of a-z 0-9 - _ / 代稱格式錯誤</td></tr>
<tr id="error-unknown_license"><td>unknown_license</td><td>400</td><td>Licence id not in /api/v1/licenses / 未知授權</td></tr>
<tr id="error-invalid_frequency"><td>invalid_frequency</td><td>400</td><td>Unknown update frequency / 未知更新頻率</td></tr>
<tr id="error-invalid_metadata"><td>invalid_metadata</td><td>400</td><td>Metadata too long or malformed; param names the member / 詮釋資料有誤</td></tr>
<tr id="error-invalid_table_schema"><td>invalid_table_schema</td><td>400</td><td>Not a valid Table Schema; param names the member / Table Schema 有誤</td></tr>
<tr id="error-quality_errors"><td>quality_errors</td><td>422</td><td>tapwater quality: the report has errors / 品質檢查發現錯誤</td></tr>
<tr id="error-invalid_pipeline"><td>invalid_pipeline</td><td>400</td><td>Pipeline not valid; param names the key / 處理流程設定有誤</td></tr>
<tr id="error-invalid_body"><td>invalid_body</td><td>400</td><td>Malformed request body / 請求內容有誤</td></tr>
<tr id="error-invalid_format"><td>invalid_format</td><td>400</td><td>Unknown or impossible output format / 無法提供的格式</td></tr>
<tr id="error-invalid_parameter"><td>invalid_parameter</td><td>400</td><td>A reserved parameter is malformed (_limit, _offset …) / 參數有誤</td></tr>
<tr id="error-unknown_column"><td>unknown_column</td><td>400</td><td>The table has no such column / 沒有此欄位</td></tr>
<tr id="error-unknown_operator"><td>unknown_operator</td><td>400</td><td>Filter operator not one of eq ne gt gte lt lte in contains startswith isnull / 未知運算子</td></tr>
<tr id="error-operator_not_applicable"><td>operator_not_applicable</td><td>400</td><td>Operator does not apply to the column type / 運算子不適用於此型別</td></tr>
<tr id="error-invalid_filter_value"><td>invalid_filter_value</td><td>400</td><td>Value cannot be read as the column type / 值與欄位型別不符</td></tr>
<tr id="error-invalid_cursor"><td>invalid_cursor</td><td>400</td><td>_cursor not issued for this query / 游標無效</td></tr>
<tr id="error-invalid_sql"><td>invalid_sql</td><td>400</td><td>SQL does not parse or plan / SQL 有誤</td></tr>
<tr id="error-sql_not_read_only"><td>sql_not_read_only</td><td>400</td><td>Only SELECT queries / 只允許唯讀查詢</td></tr>
<tr id="error-unknown_table"><td>unknown_table</td><td>400</td><td>SQL names a dataset you cannot query / 無此資料表</td></tr>
<tr id="error-query_timeout"><td>query_timeout</td><td>400</td><td>SQL ran past its time limit and was cancelled / 查詢逾時</td></tr>
<tr id="error-invalid_source"><td>invalid_source</td><td>400</td><td>Source URL, connection, query or schedule is invalid / 來源設定有誤</td></tr>
<tr id="error-payload_too_large"><td>payload_too_large</td><td>413</td><td>Upload over the size limit / 檔案過大</td></tr>
<tr id="error-unsupported_format"><td>unsupported_format</td><td>415</td><td>Not a table format tapwater reads (PDF, images, binary) / 不支援的檔案格式</td></tr>
<tr id="error-unsupported_encoding"><td>unsupported_encoding</td><td>415</td><td>Text encoding not decoded (GBK, Shift_JIS …) / 不支援的編碼</td></tr>
<tr id="error-unsupported_media_type"><td>unsupported_media_type</td><td>415</td><td>Body must be JSON / 內容須為 JSON</td></tr>
<tr id="error-empty_file"><td>empty_file</td><td>422</td><td>The file has no header or no content / 空檔案</td></tr>
<tr id="error-malformed_file"><td>malformed_file</td><td>422</td><td>Broken file; the message names line and column / 檔案格式錯誤</td></tr>
<tr id="error-too_many_columns"><td>too_many_columns</td><td>422</td><td>More columns than allowed / 欄位過多</td></tr>
<tr id="error-table_not_found"><td>table_not_found</td><td>422</td><td>No such sheet, HTML table or ZIP member / 找不到指定的工作表或表格</td></tr>
<tr id="error-archive_limit"><td>archive_limit</td><td>422</td><td>ZIP refused by a safety limit / 壓縮檔超過安全限制</td></tr>
<tr id="error-source_unreachable"><td>source_unreachable</td><td>422</td><td>Run: host or database unreachable / 來源無法連線</td></tr>
<tr id="error-source_http_error"><td>source_http_error</td><td>422</td><td>Run: the URL answered an HTTP error or an HTML page / 來源回應 HTTP 錯誤</td></tr>
<tr id="error-source_query_failed"><td>source_query_failed</td><td>422</td><td>Run: the database refused the login or query / 資料庫拒絕查詢</td></tr>
<tr id="error-source_interrupted"><td>source_interrupted</td><td>422</td><td>Run: interrupted three times, given up / 執行一再中斷</td></tr>
<tr id="error-io_error"><td>io_error</td><td>500</td><td>Storage failure / 儲存錯誤</td></tr>
<tr id="error-internal_error"><td>internal_error</td><td>500</td><td>Our fault, logged / 伺服器錯誤</td></tr>
</table>
<script>
fetch('/api/v1/openapi.json').then(r=>r.json()).then(spec=>{
  const esc=s=>String(s??'').replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
  const md=s=>esc(s).replace(/`([^`]+)`/g,'<code>$1</code>').replace(/\n\n/g,'<br><br>');
  let html='<p>'+md(spec.info.description)+'</p>';
  const byTag={};
  for(const [path,item] of Object.entries(spec.paths)) for(const [m,op] of Object.entries(item)){
    if(typeof op!=='object'||!op.responses) continue;
    const t=(op.tags||['other'])[0]; (byTag[t]=byTag[t]||[]).push([m,path,op]);
  }
  for(const tag of (spec.tags||[]).map(t=>t.name)){
    html+='<h2 id="tag-'+esc(tag)+'">'+esc(tag)+'</h2>';
    for(const [m,path,op] of byTag[tag]||[]){
      html+='<div class="op" id="'+esc(op.operationId)+'"><div><span class="m '+m+'">'+m.toUpperCase()+'</span><code>'+esc(path)+'</code></div>';
      html+='<p><b>'+md(op.summary||'')+'</b></p><p>'+md(op.description||'')+'</p>';
      if(op.parameters&&op.parameters.length){
        html+='<table><tr><th>parameter</th><th>in</th><th>description</th></tr>';
        for(const p of op.parameters) html+='<tr><td><code>'+esc(p.name)+'</code>'+(p.required?' *':'')+'</td><td>'+esc(p.in)+'</td><td>'+md(p.description||'')+'</td></tr>';
        html+='</table>';
      }
      html+='<p>responses: '+Object.entries(op.responses).map(([c,r])=>'<b>'+c+'</b> '+md(r.description||'')).join(' · ')+'</p></div>';
    }
  }
  document.getElementById('doc').innerHTML=html;
}).catch(e=>{document.getElementById('doc').textContent='無法載入 OpenAPI 文件 / cannot load the OpenAPI document: '+e});
</script></body></html>"##;

const HOME: &str = r##"<!doctype html>
<html lang="zh-Hant-TW"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>tapwater 開放資料 / open data</title>
<style>
body{font-family:system-ui,"Noto Sans TC","PingFang TC","Microsoft JhengHei",sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1b1f23;line-height:1.5}
.ds{border:1px solid #d0d7de;border-radius:6px;margin:.8rem 0;padding:.6rem 1rem} .muted{color:#57606a;font-size:.9em}
a{color:#0969da}
</style></head><body>
<h1>tapwater 開放資料平臺 / open data</h1>
<p>每個資料集都有 API：篩選、排序、分頁、統計、SQL 與下載。Every dataset is an API: filters, sorting, paging,
aggregates, SQL and downloads. <a href="/api/v1/docs">API 參考文件 / API reference</a></p>
<form onsubmit="load(this.q.value);return false"><input name="q" placeholder="搜尋資料集 / search datasets" size="40">
<button>搜尋 / Search</button></form>
<div id="list">載入中… / Loading…</div>
<script>
function esc(s){return String(s??'').replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]))}
function load(q){
  fetch('/api/v1/datasets'+(q?'?q='+encodeURIComponent(q):'')).then(r=>r.json()).then(d=>{
    document.getElementById('list').innerHTML='<p class="muted">'+d.total+' 個資料集 / datasets</p>'+d.datasets.map(x=>
      '<div class="ds"><b>'+esc(x.title)+'</b><div class="muted">'+esc(x.publisher?x.publisher.name:'')+' · '+esc(x.license)+
      ' · v'+esc(x.current_version)+'</div><div>'+esc(x.description)+'</div><div>'+
      '<a href="/api/v1/datasets/'+esc(x.slug)+'">metadata</a> · <a href="/api/v1/datasets/'+esc(x.slug)+'/rows">rows</a> · '+
      '<a href="/api/v1/datasets/'+esc(x.slug)+'/download?format=csv&bom=1">CSV</a></div></div>').join('');
  });
}
load('');
</script></body></html>"##;
